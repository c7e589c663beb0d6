"""The docs page in a real browser (Debian's Chromium): Swagger UI served by the local stack, nothing else.

The page comes from DocsFunction through the local API, as it would deployed with ServeApiDocs=true;
the routes it must show are read from template.yaml by localrun's own reader.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from localrun.openapi import template_routes
from localrun.settings import REPO_ROOT
from localrun.template import SamTemplate
from tests.integration.stack import LocalStack

DOCS_PATH = "/api/v1/docs"
SEED_BODY = {"followers": 1000, "engagement": 7.5}
# Swagger UI renders a document in well under a second here; this bounds a slow, shared machine.
RENDER_TIMEOUT_MS = 30_000


@dataclass
class DocsPage:
    """The docs page open in a fresh browser context, with every request and error it caused."""

    page: Page
    requested: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def operation(self, operation_id: str) -> Locator:
        """An operation's block (Swagger UI's id: operations-<tag>-<operationId>)."""
        return self.page.locator(f"[id^='operations-'][id$='-{operation_id}']")


@pytest.fixture
def docs(browser: Browser, stack: LocalStack, tmp_path: Path) -> Iterator[DocsPage]:
    """The stack's docs page, rendered by Swagger UI; a screenshot lands in tmp_path when the test ends."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    opened = DocsPage(page)
    page.on("request", lambda request: opened.requested.append(request.url))
    page.on(
        "console", lambda message: opened.errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    try:
        response = page.goto(f"{stack.url}{DOCS_PATH}")
        assert response is not None
        assert response.status == 200
        # Swagger UI has fetched the document and drawn its operations.
        page.locator(".opblock").first.wait_for(timeout=RENDER_TIMEOUT_MS)
        yield opened
        page.screenshot(path=tmp_path / "docs.png", full_page=True)
    finally:
        context.close()


def test_the_docs_page_shows_every_route_of_the_template_from_this_origin_alone(
    docs: DocsPage, stack: LocalStack, tmp_path: Path
) -> None:
    # Given every route of the API, read from template.yaml
    routes = template_routes(SamTemplate(REPO_ROOT / "template.yaml"))
    assert len(routes) >= 8

    # Then each is an operation on the page: its method, its path, under the function that serves it
    for route in routes:
        block = docs.operation(route.function_id)
        expect(block).to_have_count(1)
        expect(block).to_have_class(re.compile(rf"\bopblock-{route.method.lower()}\b"))
        expect(block.locator(".opblock-summary-path")).to_have_attribute("data-path", route.path)
        expect(block.locator(".opblock-summary-method")).to_have_text(route.method)
    expect(docs.page.locator(".opblock")).to_have_count(len(routes))
    # And the page says how to get a token
    expect(docs.page.locator(".information-container")).to_contain_text("make token SUB=alice")

    # And everything the page loaded came from the local API: no CDN, no validator badge
    assert docs.requested
    outside = [url for url in docs.requested if not url.startswith(f"{stack.url}/")]
    assert outside == []
    assert f"{stack.url}/api/v1/openapi.json" in docs.requested
    # And nothing failed in the page, a refusal by its Content-Security-Policy included
    assert docs.errors == []


def test_a_local_token_authorizes_the_page_and_try_it_out_syncs_tiktok(
    docs: DocsPage, stack: LocalStack, user: str, tmp_path: Path
) -> None:
    page = docs.page
    # Given a token from the local issuer (what `make token` prints), pasted into the Authorize dialog
    page.locator(".auth-wrapper .authorize").click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_contain_text("make token")
    token = stack.token(user)
    dialog.locator("input").fill(token)
    dialog.get_by_role("button", name="Apply credentials").click()
    expect(dialog.get_by_role("button", name="Remove authorization")).to_be_visible()
    dialog.locator("button.btn-done").click()

    # When the TikTok sync is tried out with the seed body
    operation = docs.operation("SyncTikTokFunction")
    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    body = operation.locator("textarea.body-param__text")
    assert json.loads(body.input_value()) == SEED_BODY  # the document's first example
    body.fill(json.dumps(SEED_BODY))
    with page.expect_response(lambda response: response.request.method == "POST") as sent:
        operation.get_by_role("button", name="Execute").click()

    # Then the page's request reached the local route with the token, and the page shows its 200
    request = sent.value.request
    assert request.url == f"{stack.url}/api/v1/profiles/social-sync/tiktok"
    assert request.headers["authorization"] == f"Bearer {token}"
    result = operation.locator(".live-responses-table .response").first
    expect(result.locator(".response-col_status")).to_have_text("200")
    shown = json.loads(result.locator(".response-col_description pre.microlight").first.inner_text())
    assert shown["success"] is True
    assert shown["message"] == "Social media Tiktok synced successfully"
    assert shown["profile"]["userId"] == user
    tiktok = shown["profile"]["stats"]["platformBreakdown"]["tiktok"]
    assert {key: tiktok[key] for key in SEED_BODY} == SEED_BODY
    assert shown["profile"]["stats"]["totalFollowers"] == 1000
    # (what a person sees: the live response, scrolled into view)
    operation.locator(".request-url").scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "try-it-out.png")
    # And the sync was stored for that user
    stored = stack.request("GET", "/api/v1/profiles/me", token=stack.token(user))
    assert stored.status == 200
    assert stored.json()["profile"] == shown["profile"]
    assert docs.errors == []
