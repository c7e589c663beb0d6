"""The gateway in front of the handlers: routing, authorizer first, and API Gateway's own answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localrun.authorizer import JwtAuthorizer
from localrun.events import HttpRequest
from localrun.issuer import LocalIssuer
from localrun.server import LocalApi, Router, response_from_result
from localrun.template import FunctionSpec, JwtAuthorizerSpec, RouteSpec

ISSUER_URL = "http://127.0.0.1:3000/local-issuer"
AUTH = JwtAuthorizerSpec("Jwt", ISSUER_URL, ("social-sync-local",), "authorization")


def function(logical_id: str) -> FunctionSpec:
    return FunctionSpec(logical_id, Path("."), "app.lambda_handler", 512, 10, (), {})


class Recorder:
    """A handler that records its calls and answers with a fixed result (or raises)."""

    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.calls: list[tuple[dict[str, Any], Any]] = []
        self.result = result if result is not None else {"statusCode": 200, "body": "{}"}
        self.error = error

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append((event, context))
        if self.error:
            raise self.error
        return self.result


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> LocalIssuer:
    return LocalIssuer.load_or_create(tmp_path_factory.mktemp("issuer"), ISSUER_URL, "social-sync-local")


def api(issuer: LocalIssuer, handler: Recorder, route: RouteSpec | None = None) -> LocalApi:
    route = route or RouteSpec("GET", "/api/v1/profiles/me", "Get", AUTH)
    return LocalApi(
        routes=[route],
        functions={"Get": function("Get")},
        handlers={"Get": handler},
        authorizers={"Jwt": JwtAuthorizer(ISSUER_URL, ["social-sync-local"], issuer.jwks())},
        issuer=issuer,
        cors=None,
        region="us-east-1",
        port=3000,
        log=lambda line: None,
    )


def get(path: str, token: str | None = None) -> HttpRequest:
    headers = [("Authorization", f"Bearer {token}")] if token else []
    return HttpRequest("GET", path, "", headers, b"", "127.0.0.1")


def test_a_valid_request_reaches_the_handler_with_event_and_context(issuer: LocalIssuer) -> None:
    handler = Recorder({"statusCode": 201, "headers": {"x-a": "1"}, "body": "hi", "cookies": ["c=1"]})

    response = api(issuer, handler).handle(get("/api/v1/profiles/me", issuer.mint("alice")))

    assert response.status == 201
    assert response.body == b"hi"
    assert ("x-a", "1") in response.headers
    assert ("set-cookie", "c=1") in response.headers
    [(event, context)] = handler.calls
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "alice"
    assert context.function_name == "Get"
    assert context.memory_limit_in_mb == 512
    assert context.invoked_function_arn.endswith(":function:Get")
    assert 0 < context.get_remaining_time_in_millis() <= 10_000
    assert context.aws_request_id


def test_an_unauthorized_request_never_reaches_the_handler(issuer: LocalIssuer) -> None:
    handler = Recorder()

    response = api(issuer, handler).handle(get("/api/v1/profiles/me", "forged"))

    assert response.status == 401
    assert json.loads(response.body) == {"message": "Unauthorized"}
    assert handler.calls == []


def test_an_unknown_route_is_404_before_auth(issuer: LocalIssuer) -> None:
    response = api(issuer, Recorder()).handle(get("/api/v1/nope"))

    assert response.status == 404
    assert json.loads(response.body) == {"message": "Not Found"}


def test_a_handler_that_raises_is_a_bare_500(issuer: LocalIssuer) -> None:
    handler = Recorder(error=RuntimeError("secret internals"))

    response = api(issuer, handler).handle(get("/api/v1/profiles/me", issuer.mint("alice")))

    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}


def test_a_malformed_handler_result_is_a_500(issuer: LocalIssuer) -> None:
    handler = Recorder({"statusCode": 200, "body": {"not": "a string"}})

    response = api(issuer, handler).handle(get("/api/v1/profiles/me", issuer.mint("alice")))

    assert response.status == 500


def test_a_result_without_status_code_is_sent_as_200_json() -> None:
    response = response_from_result({"hello": "world"})

    assert response.status == 200
    assert json.loads(response.body) == {"hello": "world"}


def test_a_base64_result_is_decoded() -> None:
    response = response_from_result({"statusCode": 200, "body": "AAEC", "isBase64Encoded": True})

    assert response.body == b"\x00\x01\x02"


def test_router_prefers_exact_paths_and_extracts_parameters() -> None:
    router = Router(
        [
            RouteSpec("ANY", "/items/{proxy+}", "Proxy", None),
            RouteSpec("GET", "/items/{id}", "One", None),
            RouteSpec("GET", "/items/special", "Special", None),
        ]
    )

    assert router.match("GET", "/items/special")[0].function_id == "Special"  # type: ignore[index]
    assert router.match("GET", "/items/42") == (RouteSpec("GET", "/items/{id}", "One", None), {"id": "42"})
    assert router.match("DELETE", "/items/a/b")[1] == {"proxy": "a/b"}  # type: ignore[index]
    assert router.match("GET", "/other") is None
