"""The OpenAPI document's examples are what the functions answer (the docs page shows them as such)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import Any

import pytest

from localrun.openapi import EXAMPLE_TIME, EXAMPLE_USER, PROFILE_UPDATE_EXAMPLE, SEED_NUMBERS, build_document
from tests.helpers import http_event, invoke

TIMESTAMP = re.compile(r'"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"')
SYNC_TIKTOK = ("POST", "/api/v1/profiles/social-sync/tiktok")
SYNC_ALL = ("POST", "/api/v1/profiles/social-sync")
PROFILE = "/api/v1/profiles/me"
HISTORY = "/api/v1/profiles/me/stats/history"
SOCIAL_FETCH = ("POST", "/api/v1/social/fetch")


@cache
def document() -> dict[str, Any]:
    return build_document()


def documented(method: str, path: str, status: int) -> tuple[str, Any]:
    """The function that serves a route, and the document's example of its answer with `status`."""
    operation = document()["paths"][path][method.lower()]
    return operation["operationId"], operation["responses"][str(status)]["content"]["application/json"][
        "example"
    ]


def request_example(method: str, path: str) -> Any:
    """The first request example of a route: what "Try it out" starts from."""
    content = document()["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]
    return next(iter(content["examples"].values()))["value"]


def at_example_time(body: Any) -> Any:
    """`body` with every timestamp set to the examples' time (a real answer carries the time of the call)."""
    return json.loads(TIMESTAMP.sub(f'"{EXAMPLE_TIME}"', json.dumps(body)))


@pytest.mark.parametrize(
    ("method", "path", "given_seed"),
    [(*SYNC_TIKTOK, False), (*SYNC_ALL, False), ("GET", PROFILE, True), ("PUT", PROFILE, True)],
)
def test_the_documented_200_is_what_the_function_answers_to_the_documented_request(
    method: str, path: str, given_seed: bool, function: Callable[[str], ModuleType]
) -> None:
    # Given the example caller, who has synced the seed numbers where the example says so
    if given_seed:
        seeded = invoke(function("SyncTikTokFunction"), http_event(*SYNC_TIKTOK, SEED_NUMBERS, EXAMPLE_USER))
        assert seeded[0] == 200, seeded
    function_id, example = documented(method, path, 200)
    body = request_example(method, path) if method != "GET" else None
    if method == "PUT":
        assert body == PROFILE_UPDATE_EXAMPLE

    # When the route's function gets the documented request
    status, answer, _ = invoke(function(function_id), http_event(method, path, body, EXAMPLE_USER))

    # Then it answers exactly the documented example, at the example's time
    assert status == 200, answer
    assert at_example_time(answer) == example


BAD_REQUESTS: list[tuple[str, str, int, dict[str, Any]]] = [
    # (method, path, status, what http_event needs to make the request that gets it)
    (*SYNC_TIKTOK, 400, {"body": {"followers": "1000"}}),
    (*SYNC_ALL, 400, {"body": {"platforms": {"myspace": {"followers": 1}}}}),
    ("PUT", PROFILE, 400, {"body": {"stats": {}}}),
    ("GET", HISTORY, 400, {"rawQueryString": "limit=501", "queryStringParameters": {"limit": "501"}}),
    ("GET", PROFILE, 404, {}),
    (*SYNC_TIKTOK, 413, {"body": json.dumps({"usernameOrId": "a" * 17_000})}),
    (*SOCIAL_FETCH, 400, {"body": {"platform": "myspace", "username": "charlidamelio"}}),
    (*SOCIAL_FETCH, 413, {"body": json.dumps({"platform": "tiktok", "username": "a" * 17_000})}),
]


@pytest.mark.parametrize(("method", "path", "status", "request_parts"), BAD_REQUESTS)
def test_a_documented_error_is_what_the_function_answers(
    method: str, path: str, status: int, request_parts: dict[str, Any], function: Callable[[str], ModuleType]
) -> None:
    # Given an error example of the OpenAPI document and its request
    function_id, example = documented(method, path, status)
    body = request_parts.pop("body", None)

    # When the request is sent to the route's function
    answer_status, answer, _ = invoke(function(function_id), http_event(method, path, body, **request_parts))

    # Then the answer is the documented example
    assert answer_status == status
    assert answer == example


def test_the_documented_403_is_what_a_deployment_refusing_client_numbers_answers(
    env: pytest.MonkeyPatch, function: Callable[[str], ModuleType]
) -> None:
    # Given a deployment that refuses client-reported numbers, and the document's 403 example
    env.setenv("ALLOW_CLIENT_REPORTED_STATS", "false")
    function_id, example = documented(*SYNC_TIKTOK, 403)

    # When numbers are synced
    status, answer, _ = invoke(function(function_id), http_event(*SYNC_TIKTOK, SEED_NUMBERS))

    # Then the answer is the documented example
    assert status == 403
    assert answer == example
