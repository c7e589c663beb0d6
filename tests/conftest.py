"""Fixtures every test folder may use."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (installed by `make test`), driven through Playwright.

    Playwright is pointed at the system browser, so nothing is downloaded; a machine without
    `chromium` fails here with a clear message instead of skipping the browser tests.
    """
    executable = shutil.which("chromium")
    assert executable, "chromium is not installed: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()
