"""DocsFunction: the docs page, its assets and the document, from its folder and from its built artifact."""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from social_sync import docs
from tests.helpers import FakeContext, load_event
from tests.template import ROOT, load_function, load_module
from tests.unit.test_events import EXPECTED

FOLDER = ROOT / "functions" / "docs"
DOCS_EVENTS = sorted(name for name in EXPECTED if name.startswith("docs_"))
# What the page may load from: its own origin, and images drawn inline.
ALLOWED_SOURCES = {"'self'", "'none'", "'unsafe-inline'", "data:"}


def served(module: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """Run the handler on `event`: (status, headers, body as the browser receives it, still encoded)."""
    result = module.lambda_handler(event, FakeContext())
    body = result["body"]
    data = base64.b64decode(body) if result["isBase64Encoded"] else body.encode()
    return result["statusCode"], result["headers"], data


def asset_event(asset: str, accept_encoding: str | None = "gzip, deflate, br") -> dict[str, Any]:
    event = load_event("docs_asset.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/v1/docs/{asset}"
    event["pathParameters"] = {"asset": asset}
    if accept_encoding is None:
        del event["headers"]["accept-encoding"]
    else:
        event["headers"]["accept-encoding"] = accept_encoding
    return event


@pytest.mark.parametrize("name", DOCS_EVENTS)
def test_docs_event_gets_its_file_or_a_404(name: str) -> None:
    # Given a sample event for the docs' routes (no authorizer: no claims in it)
    event = load_event(name)
    assert "authorizer" not in event["requestContext"]

    # When DocsFunction handles it
    status, headers, body = served(load_function("DocsFunction"), event)

    # Then it gets the file the route names, as the file on disk (gzip when the client takes it)
    assert status == EXPECTED[name].status
    if status == 404:
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {"message": "Not Found"}
        return
    file = docs.requested_file(event)
    assert file is not None
    assert headers["content-type"] == file.content_type
    assert headers["x-content-type-options"] == "nosniff"
    if headers.get("content-encoding") == "gzip":
        body = gzip.decompress(body)
    assert body == (FOLDER / file.name).read_bytes()


def test_only_the_files_the_page_needs_are_served_never_the_functions_own() -> None:
    handler = load_function("DocsFunction")
    for asset in ("app.py", "Makefile", "..", "../app.py", "%2e%2e", "openapi.json", "index.html", ""):
        status, _, _ = served(handler, asset_event(asset))
        assert status == 404, asset
    status, _, _ = served(handler, {**load_event("docs_page.json"), "routeKey": "GET /api/v1/profiles/me"})
    assert status == 404


def test_every_file_the_page_loads_is_an_asset_and_each_is_in_the_folder() -> None:
    # Given the page's links and scripts, relative to /api/v1/docs
    page = (FOLDER / "index.html").read_text()
    loaded = re.findall(r'(?:href|src)="([^"]+)"', page)
    # Then each is an asset the function serves, and none is on another origin
    assert loaded
    assert {link.removeprefix("docs/") for link in loaded} <= set(docs.ASSETS)
    assert all(link.startswith("docs/") for link in loaded), loaded
    # And every file the function serves is there (the links into node_modules resolve after `npm ci`)
    for name in docs.FILE_NAMES:
        assert (FOLDER / name).is_file(), (
            f"functions/docs/{name} is missing: `npm ci` installs it (make unit and make test run it)"
        )


def test_the_page_may_load_from_its_own_origin_only() -> None:
    status, headers, _ = served(load_function("DocsFunction"), load_event("docs_page.json"))
    assert status == 200
    policy = dict(
        (directive.split()[0], set(directive.split()[1:]))
        for directive in headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == {"'none'"}
    assert policy["frame-ancestors"] == {"'none'"}
    for directive, sources in policy.items():
        assert sources <= ALLOWED_SOURCES, directive
    # And Swagger UI is told not to send the document to its public validator (it would, from any
    # host but localhost, so the browser test cannot see it)
    assert "validatorUrl: null" in (FOLDER / "swagger-initializer.js").read_text()


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [("gzip, deflate, br", True), ("GZIP", True), ("br;q=1.0, gzip;q=0.8", True), ("gzip;q=0", False),
     ("gzip;q=0.000", False), ("gzip;q=x", False), ("identity", False), (None, False)],
)  # fmt: skip
def test_text_is_gzipped_only_for_a_client_that_takes_gzip(
    accept_encoding: str | None, gzipped: bool
) -> None:
    status, headers, body = served(
        load_function("DocsFunction"), asset_event("swagger-ui.css", accept_encoding)
    )

    assert status == 200
    assert (headers.get("content-encoding") == "gzip") is gzipped
    assert headers["vary"] == "accept-encoding"
    assert (gzip.decompress(body) if gzipped else body) == (FOLDER / "swagger-ui.css").read_bytes()
    # swagger-ui-dist's files change only with the pinned version: browsers may keep them for a day
    assert headers["cache-control"] == "public, max-age=86400"


def test_the_page_and_the_document_are_asked_for_again_each_time() -> None:
    handler = load_function("DocsFunction")
    for name in ("docs_page.json", "docs_document.json"):
        _, headers, _ = served(handler, load_event(name))
        assert headers["cache-control"] == "no-cache", name


def test_the_built_function_ships_every_file_as_a_file_and_serves_them(tmp_path: Path) -> None:
    # Given the function built as `sam build` does: a copy of the folder (links followed), then its Makefile
    source = tmp_path / "source"
    shutil.copytree(FOLDER, source, ignore=shutil.ignore_patterns("__pycache__"))
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    make = shutil.which("make")
    assert make, "make is needed to build the function as `sam build` does"
    subprocess.run(  # noqa: S603 - our own Makefile
        [make, "--no-print-directory", "-f", str(FOLDER / "Makefile"), "build-DocsFunction",
         f"ARTIFACTS_DIR={artifact}"],
        cwd=source, check=True, capture_output=True,
    )  # fmt: skip

    # Then the artifact holds the handler and every file it serves, as plain files, and nothing else
    shipped = {path.name for path in artifact.iterdir()}
    assert shipped == {"app.py", *docs.FILE_NAMES}
    for name in shipped:
        assert not (artifact / name).is_symlink(), name
        assert (artifact / name).read_bytes() == (FOLDER / name).read_bytes(), name
    # And the handler it ships serves them from there
    module = load_module(artifact / "app.py", "built_docs_function")
    status, _, body = served(module, load_event("docs_document.json"))
    assert status == 200
    assert json.loads(body) == json.loads((ROOT / "openapi.json").read_text())
