"""The API's docs: Swagger UI over the OpenAPI document, every file from the docs function's own folder.

DocsFunction (functions/docs) serves three routes, none behind the authorizer: the page
(`GET /api/v1/docs`), its assets (`GET /api/v1/docs/{asset}`) and the document
(`GET /api/v1/openapi.json`). Its folder holds the page and its initializer, Swagger UI's script
and stylesheet (the npm package swagger-ui-dist, pinned in package.json) and the committed
openapi.json; functions/docs/Makefile ships them as files. Nothing comes from a CDN, and the
page's Content-Security-Policy lets the browser load from this origin only.

Standard library only: the docs function pays nothing for the layer's packages at cold start.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PAGE_ROUTE = "GET /api/v1/docs"
ASSET_ROUTE = "GET /api/v1/docs/{asset}"
DOCUMENT_ROUTE = "GET /api/v1/openapi.json"

# Same origin for everything; Swagger UI sets element styles from its script, and draws some icons
# as data: images.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# swagger-ui-dist's files change only with its pinned version; the page, its initializer and the
# document change with every deployment, so the browser asks again each time.
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class DocsFile:
    """A file the docs function serves, and how."""

    name: str
    content_type: str
    max_age: int = 0
    compressible: bool = True


PAGE = DocsFile("index.html", "text/html; charset=utf-8")
DOCUMENT = DocsFile("openapi.json", "application/json")
# Every asset the page loads, and nothing else: the function's folder also holds its own code.
ASSETS = {
    file.name: file
    for file in (
        DocsFile("swagger-initializer.js", "text/javascript; charset=utf-8"),
        DocsFile("swagger-ui-bundle.js", "text/javascript; charset=utf-8", DAY_SECONDS),
        DocsFile("swagger-ui.css", "text/css; charset=utf-8", DAY_SECONDS),
        DocsFile("index.css", "text/css; charset=utf-8", DAY_SECONDS),
        DocsFile("favicon-32x32.png", "image/png", DAY_SECONDS, compressible=False),
        DocsFile("favicon-16x16.png", "image/png", DAY_SECONDS, compressible=False),
    )
}
FILE_NAMES = (PAGE.name, DOCUMENT.name, *ASSETS)

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def requested_file(event: dict[str, Any]) -> DocsFile | None:
    """The file an HTTP API (payload 2.0) event asks for; None for anything else."""
    route = event.get("routeKey")
    if route == PAGE_ROUTE:
        return PAGE
    if route == DOCUMENT_ROUTE:
        return DOCUMENT
    if route == ASSET_ROUTE:
        return ASSETS.get(str((event.get("pathParameters") or {}).get("asset", "")))
    return None


def accepts_gzip(event: dict[str, Any]) -> bool:
    """Whether the client said it takes a gzip-encoded body (gzip listed, with no weight of 0)."""
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    for coding in headers.get("accept-encoding", "").split(","):
        name, *parameters = (part.strip().lower() for part in coding.split(";"))
        if name == "gzip":
            weights = [parameter.removeprefix("q=") for parameter in parameters if parameter.startswith("q=")]
            try:
                return not weights or float(weights[0]) > 0
            except ValueError:
                return False
    return False


def docs_handler(folder: Path) -> LambdaHandler:
    """The Lambda entry point of the docs function: the files in `folder`, each read once per container."""

    @cache
    def content(name: str, compressed: bool) -> bytes:
        data = (folder / name).read_bytes()
        # Level 6: Swagger UI's script a fifth faster than at level 9, and 0.4% larger. mtime 0: the
        # same bytes in every container.
        return gzip.compress(data, compresslevel=6, mtime=0) if compressed else data

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        file = requested_file(event)
        if file is None:
            return {
                "statusCode": 404,
                "headers": {"content-type": "application/json"},
                "body": '{"message":"Not Found"}',
                "isBase64Encoded": False,
            }
        compressed = file.compressible and accepts_gzip(event)
        cache_control = f"public, max-age={file.max_age}" if file.max_age else "no-cache"
        headers = {
            "content-type": file.content_type,
            "cache-control": cache_control,
            "x-content-type-options": "nosniff",
        }
        if file.compressible:
            headers["vary"] = "accept-encoding"
        if compressed:
            headers["content-encoding"] = "gzip"
        if file is PAGE:
            headers["content-security-policy"] = PAGE_POLICY
            headers["referrer-policy"] = "no-referrer"
        return {
            "statusCode": 200,
            "headers": headers,
            "body": base64.b64encode(content(file.name, compressed)).decode(),
            "isBase64Encoded": True,
        }

    return lambda_handler
