"""UPSTREAM_API_URL: what no route here matches goes to the app's existing backend, and back, unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.app_tokens import app_token
from tests.integration.stack import LocalStack

SECRET = "the-app-backends-signing-secret-" + "y" * 40


@dataclass
class Seen:
    """One request as the upstream received it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)


class Upstream:
    """A stand-in for the app's backend on 127.0.0.1: records each request and answers with a fixed reply."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                upstream.seen.append(Seen(self.command, self.path, list(self.headers.items()), body))
                reply = json.dumps({"from": "upstream", "path": self.path}).encode()
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Set-Cookie", "refreshToken=abc; HttpOnly; Path=/")
                self.send_header("X-Upstream", "yes")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/backend"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    running = Upstream()
    yield running
    running.close()


@pytest.fixture(scope="module")
def proxied(extra_api: Callable[[dict[str, str]], LocalStack], upstream: Upstream) -> LocalStack:
    """The local API as the app uses it: its own tokens, and everything else passed to its backend."""
    return extra_api({"AUTH_MODE": "shared-secret", "JWT_SECRET": SECRET, "UPSTREAM_API_URL": upstream.url})


def test_a_login_without_a_token_reaches_the_upstream_and_its_answer_comes_back(
    proxied: LocalStack, upstream: Upstream
) -> None:
    # Given a login as the app sends it: no token, a JSON body, a query string, a header of its own
    body = json.dumps({"email": "alice@example.com", "password": "pa ss"}).encode()
    before = len(upstream.seen)

    # When it goes to the one base URL
    reply = proxied.request(
        "POST", "/api/v1/auth/login?next=%2Fdashboard&x=1", raw_body=body, headers={"X-Client": "web"}
    )

    # Then the upstream got it as sent, under its own base path ...
    [seen] = upstream.seen[before:]
    assert seen.method == "POST"
    assert seen.path == "/backend/api/v1/auth/login?next=%2Fdashboard&x=1"
    assert seen.body == body
    assert seen.header("x-client") == "web"
    assert seen.header("content-type") == "application/json"
    assert seen.header("authorization") is None
    # ... and its answer came back unchanged: status, headers, body
    assert reply.status == 201
    assert reply.headers["x-upstream"] == "yes"
    assert reply.headers["set-cookie"] == "refreshToken=abc; HttpOnly; Path=/"
    assert reply.headers["content-type"] == "application/json; charset=utf-8"
    assert reply.json() == {"from": "upstream", "path": "/backend/api/v1/auth/login?next=%2Fdashboard&x=1"}


def test_an_authenticated_request_reaches_the_upstream_with_its_authorization_unchanged(
    proxied: LocalStack, upstream: Upstream, user: str
) -> None:
    # Given an app token
    token = app_token(SECRET, user)
    before = len(upstream.seen)

    # When a route of the app's backend is asked for
    reply = proxied.request("GET", "/api/v1/auth/me", token=token)

    # Then the upstream got it under its base path, with the same Authorization
    [seen] = upstream.seen[before:]
    assert (seen.method, seen.path) == ("GET", "/backend/api/v1/auth/me")
    assert seen.header("authorization") == f"Bearer {token}"
    assert reply.status == 200


def test_a_route_of_this_api_is_served_here_and_never_passed_on(
    proxied: LocalStack, upstream: Upstream
) -> None:
    before = len(upstream.seen)

    # When a route of this API is asked for without a token
    reply = proxied.request("GET", "/api/v1/profiles/me")

    # Then it is answered here (401), and the upstream never sees it
    assert reply.status == 401
    assert reply.json() == {"message": "Unauthorized"}
    assert upstream.seen[before:] == []


def test_without_an_upstream_unknown_routes_stay_404(stack: LocalStack) -> None:
    reply = stack.request("POST", "/api/v1/auth/login", {"email": "alice@example.com"})

    assert reply.status == 404
    assert reply.json() == {"message": "Not Found"}
