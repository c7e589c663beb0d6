"""The Lambda authorizer in front of the local routes, as API Gateway runs it: event, answer, cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localrun.authorizer import Forbidden, Unauthorized
from localrun.events import HttpRequest
from localrun.issuer import LocalIssuer
from localrun.lambda_authorizer import AuthorizerFailed, LambdaAuthorizer
from localrun.server import LocalApi
from localrun.template import FunctionSpec, LambdaAuthorizerSpec, RouteSpec

SPEC = LambdaAuthorizerSpec("SharedSecretAuthorizer", "Auth", "authorization", ttl_seconds=300)


def function(logical_id: str) -> FunctionSpec:
    return FunctionSpec(logical_id, Path("."), "app.lambda_handler", 512, 10, (), {})


class Authorizer:
    """An authorizer function that records its events and answers as told."""

    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.answer = answer if answer is not None else {"isAuthorized": True, "context": {"userId": "alice"}}
        self.error = error

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        if self.error:
            raise self.error
        return self.answer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def get(authorization: str | None = "Bearer token-1", path: str = "/api/v1/profiles/me") -> HttpRequest:
    headers = [("Authorization", authorization)] if authorization is not None else []
    return HttpRequest("GET", path, "a=1", [*headers, ("Host", "127.0.0.1:3000")], b"", "127.0.0.1")


def authorizer(handler: Authorizer, clock: Clock | None = None, ttl: int = 300) -> LambdaAuthorizer:
    spec = LambdaAuthorizerSpec(SPEC.name, SPEC.function_id, SPEC.header, ttl_seconds=ttl)
    return LambdaAuthorizer(
        spec, function("Auth"), handler, "us-east-1", 3000, log=lambda line: None, clock=clock or Clock()
    )


def test_the_function_gets_api_gateways_payload_2_event_and_its_context_is_returned() -> None:
    handler = Authorizer()

    context = authorizer(handler).authorize(get(), "GET /api/v1/profiles/me")

    assert context == {"userId": "alice"}
    [event] = handler.events
    assert event["version"] == "2.0"
    assert event["type"] == "REQUEST"
    assert event["identitySource"] == ["Bearer token-1"]
    assert event["routeKey"] == "GET /api/v1/profiles/me"
    assert event["routeArn"].endswith("/$default/GET/api/v1/profiles/me")
    assert event["headers"]["authorization"] == "Bearer token-1"
    assert event["queryStringParameters"] == {"a": "1"}
    assert "body" not in event


def test_answers_are_cached_per_header_for_the_ttl() -> None:
    handler, clock = Authorizer(), Clock()
    gate = authorizer(handler, clock)

    gate.authorize(get("Bearer token-1"), "GET /api/v1/profiles/me")
    gate.authorize(get("Bearer token-1"), "PUT /api/v1/profiles/me")
    clock.now += 299
    gate.authorize(get("Bearer token-1"), "GET /api/v1/profiles/me")
    assert len(handler.events) == 1
    gate.authorize(get("Bearer token-2"), "GET /api/v1/profiles/me")
    assert len(handler.events) == 2
    clock.now += 1
    gate.authorize(get("Bearer token-1"), "GET /api/v1/profiles/me")
    assert len(handler.events) == 3


def test_a_ttl_of_zero_asks_every_time() -> None:
    handler = Authorizer()
    gate = authorizer(handler, ttl=0)

    for _ in range(3):
        gate.authorize(get(), "GET /api/v1/profiles/me")

    assert len(handler.events) == 3


def test_no_identity_source_is_401_without_calling_the_function() -> None:
    handler = Authorizer()

    for missing in (None, ""):
        with pytest.raises(Unauthorized):
            authorizer(handler).authorize(get(missing), "GET /api/v1/profiles/me")

    assert handler.events == []


def test_a_denial_is_403_and_is_cached_too() -> None:
    handler = Authorizer({"isAuthorized": False})
    gate = authorizer(handler)

    for _ in range(2):
        with pytest.raises(Forbidden):
            gate.authorize(get(), "GET /api/v1/profiles/me")

    assert len(handler.events) == 1


def test_failing_with_unauthorized_is_401_and_is_asked_again() -> None:
    handler = Authorizer(error=Exception("Unauthorized"))
    gate = authorizer(handler)

    for _ in range(2):
        with pytest.raises(Unauthorized):
            gate.authorize(get(), "GET /api/v1/profiles/me")

    assert len(handler.events) == 2


@pytest.mark.parametrize(
    "handler",
    [
        Authorizer(error=RuntimeError("boom")),
        Authorizer({"allow": True}),
        Authorizer("yes"),
        Authorizer({"isAuthorized": "true"}),
    ],
    ids=["raises", "no isAuthorized", "not an object", "isAuthorized not a boolean"],
)
def test_any_other_failure_or_answer_is_500(handler: Authorizer) -> None:
    with pytest.raises(AuthorizerFailed):
        authorizer(handler).authorize(get(), "GET /api/v1/profiles/me")


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.events.append(event)
        return {"statusCode": 200, "body": "{}"}


@pytest.mark.parametrize(
    ("handler", "status", "body"),
    [
        (Authorizer(error=Exception("Unauthorized")), 401, b'{"message":"Unauthorized"}'),
        (Authorizer({"isAuthorized": False}), 403, b'{"message":"Forbidden"}'),
        (Authorizer(error=RuntimeError("boom")), 500, b'{"message":"Internal Server Error"}'),
    ],
    ids=["unauthorized", "denied", "failed"],
)
def test_the_gateway_answers_a_refusal_itself_and_the_route_never_runs(
    tmp_path: Path, handler: Authorizer, status: int, body: bytes
) -> None:
    route_handler = Recorder()
    api = local_api(tmp_path, handler, route_handler)

    response = api.handle(get())

    assert (response.status, response.body) == (status, body)
    assert route_handler.events == []


def test_the_route_sees_the_authorizers_context_at_request_context_authorizer_lambda(tmp_path: Path) -> None:
    route_handler = Recorder()

    response = local_api(tmp_path, Authorizer(), route_handler).handle(get())

    assert response.status == 200
    [event] = route_handler.events
    assert event["requestContext"]["authorizer"] == {"lambda": {"userId": "alice"}}


def local_api(tmp_path: Path, handler: Authorizer, route_handler: Recorder) -> LocalApi:
    issuer = LocalIssuer.load_or_create(tmp_path, "http://127.0.0.1:3000/local-issuer", "social-sync-local")
    return LocalApi(
        routes=[RouteSpec("GET", "/api/v1/profiles/me", "Get", SPEC)],
        functions={"Get": function("Get")},
        handlers={"Get": route_handler},
        authorizers={SPEC.name: authorizer(handler)},
        issuer=issuer,
        cors=None,
        region="us-east-1",
        port=3000,
        log=lambda line: None,
    )
