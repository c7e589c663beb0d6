"""The app's browser calls, in a real browser: Debian's Chromium loads a page from another origin that
calls the local API as the app does (fetch with credentials and a Bearer token; axios's XHR without)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.app_tokens import app_token
from tests.integration.stack import LocalStack, free_port

SECRET = "the-app-backends-signing-secret-" + "z" * 40
PAGE = b"<!doctype html><title>app</title><p>the app's page</p>"

# What the app's apiFetch does (credentials included, Bearer token), then what axios does (an XHR,
# withCredentials false). Each returns the profile JSON the page could read, or the error it got.
FETCH = """async ([url, token]) => {
  try {
    const response = await fetch(url, {credentials: "include", headers: {Authorization: `Bearer ${token}`}});
    return {status: response.status, body: await response.json()};
  } catch (error) {
    return {error: String(error)};
  }
}"""
XHR = """([url, token]) => new Promise((resolve) => {
  const request = new XMLHttpRequest();
  request.open("GET", url);
  request.withCredentials = false;
  request.setRequestHeader("Authorization", `Bearer ${token}`);
  request.onload = () => resolve({status: request.status, body: JSON.parse(request.responseText)});
  request.onerror = () => resolve({error: "network error"});
  request.send();
})"""


class PageServer:
    """Serves the app's page from its own origin on 127.0.0.1."""

    def __init__(self, port: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.origin = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def pages() -> Iterator[tuple[PageServer, PageServer]]:
    """The app's origin (allowed) and another origin (not allowed)."""
    allowed, other = PageServer(free_port()), PageServer(free_port())
    yield allowed, other
    allowed.close()
    other.close()


@pytest.fixture(scope="module")
def app_api(
    extra_api: Callable[[dict[str, str]], LocalStack], pages: tuple[PageServer, PageServer]
) -> LocalStack:
    allowed, _ = pages
    return extra_api(
        {
            "AUTH_MODE": "shared-secret",
            "JWT_SECRET": SECRET,
            "CORS_ALLOW_ORIGINS": f"http://localhost:3000,{allowed.origin}",
            "SYNC_COOLDOWN_SECONDS": "0",
        }
    )


def call_from(browser: Browser, origin: str, script: str, url: str, token: str) -> dict[str, Any]:
    page = browser.new_page()
    try:
        page.goto(origin)
        result: dict[str, Any] = page.evaluate(script, [url, token])
        return result
    finally:
        page.close()


@pytest.mark.parametrize("script", [FETCH, XHR], ids=["fetch with credentials", "axios-style XHR"])
def test_the_apps_page_reads_the_profile(
    browser: Browser, app_api: LocalStack, pages: tuple[PageServer, PageServer], user: str, script: str
) -> None:
    # Given a profile, and the app's page open in the browser on an allowed origin
    token = app_token(SECRET, user)
    assert (
        app_api.request("PUT", "/api/v1/profiles/me", {"bio": "from the browser"}, token=token).status == 200
    )
    allowed, _ = pages

    # When the page calls the API as the app does
    result = call_from(browser, allowed.origin, script, f"{app_api.url}/api/v1/profiles/me", token)

    # Then the profile JSON reached the page
    assert result.get("status") == 200, result
    assert result["body"]["profile"]["userId"] == user
    assert result["body"]["profile"]["bio"] == "from the browser"


@pytest.mark.parametrize("script", [FETCH, XHR], ids=["fetch with credentials", "axios-style XHR"])
def test_a_page_from_another_origin_cannot_read_it(
    browser: Browser, app_api: LocalStack, pages: tuple[PageServer, PageServer], user: str, script: str
) -> None:
    # Given a page on an origin the API does not allow
    token = app_token(SECRET, user)
    _, other = pages

    # When its script calls the API with a token
    result = call_from(browser, other.origin, script, f"{app_api.url}/api/v1/profiles/me", token)

    # Then the browser keeps the answer from it
    assert "error" in result, result
    assert "body" not in result
