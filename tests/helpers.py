"""The helpers the tests share: events and contexts for the handlers, requests through them, and reads of
the moto table. Fixtures live in the conftest files; everything a test calls by hand lives here, once.

A helper that performs a request as a test's setup (a "given" step) asserts the status it expects and
says so in its docstring; a helper for the request under test returns the status for the test to check.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from social_sync.platforms import PLATFORM_SPECS
from social_sync.quota_store import QUOTA_PREFIX
from tests.template import ROOT

if TYPE_CHECKING:
    from tests.integration.stack import LocalStack, Reply

TABLE_NAME = "social-sync-unit"
FETCH_STATE_TABLE_NAME = "social-sync-unit-fetch-state"
PLATFORM_FUNCTIONS: dict[str, str] = {name: spec.function_id for name, spec in PLATFORM_SPECS.items()}
SYNC_PATH = "/api/v1/profiles/social-sync"
HISTORY_PATH = "/api/v1/profiles/me/stats/history"

# The `function` fixture: a function's module by its logical id in template.yaml.
Functions = Callable[[str], ModuleType]
# A handler's answer, decoded: (status, JSON body, headers).
Invoked = tuple[int, dict[str, Any], dict[str, str]]


class FakeContext:
    """The parts of the Lambda context that Powertools reads, with `remaining_seconds` before the timeout."""

    function_name = "social-sync-unit"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:social-sync-unit"
    aws_request_id = "unit-request"

    def __init__(self, remaining_seconds: float = 10) -> None:
        self.remaining_seconds = remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_seconds * 1000)


class RecordingQueue:
    """A dispatch queue that keeps the batches of user ids sent to it."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def send(self, user_ids: list[str]) -> None:
        self.batches.append(list(user_ids))


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, the same JSON `sam local invoke -e` sends."""
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return event


def invoke(module: ModuleType, event: dict[str, Any]) -> Invoked:
    """Run a handler and decode its response: (status, JSON body, headers)."""
    result = module.lambda_handler(event, FakeContext())
    body: dict[str, Any] = json.loads(result["body"])
    return result["statusCode"], body, result.get("headers", {})


def http_event(
    method: str, path: str, body: Any = None, sub: str | None = "alice", **extra: Any
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event as API Gateway builds it after the JWT authorizer let it through."""
    route_key = f"{method} {path}"
    authorizer = (
        {"jwt": {"claims": {"sub": sub, "iss": "https://issuer.example"}, "scopes": None}} if sub else None
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": "Bearer redacted"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test",
            },
            "requestId": "req-1",
            "routeKey": route_key,
            "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795514400000,
        },
        "isBase64Encoded": False,
    }
    if authorizer:
        event["requestContext"]["authorizer"] = authorizer
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    event.update(extra)
    return event


# --- Requests through the handlers.


def sync(
    function: Functions,
    platform: str,
    body: Any,
    sub: str | None = "alice",
    idempotency_key: str | None = None,
    **extra: Any,
) -> Invoked:
    """POST a sync body to a platform's function (`/profiles/social-sync/<platform>`); the test checks the
    status. `extra` goes into the event as `http_event` takes it."""
    event = http_event("POST", f"{SYNC_PATH}/{platform}", body, sub=sub, **extra)
    if idempotency_key is not None:
        event["headers"]["idempotency-key"] = idempotency_key
    return invoke(function(PLATFORM_FUNCTIONS[platform]), event)


def synced(
    function: Functions, platform: str, body: Any, sub: str = "alice", idempotency_key: str | None = None
) -> dict[str, Any]:
    """Given-step: a sync that must succeed. Asserts 200 and returns the response body."""
    status, answer, _ = sync(function, platform, body, sub=sub, idempotency_key=idempotency_key)
    assert status == 200, answer
    return answer


def sync_all(function: Functions, body: Any, sub: str = "alice") -> Invoked:
    """POST a "sync all" body (`/profiles/social-sync`); the test checks the status."""
    return invoke(function("SyncAllFunction"), http_event("POST", SYNC_PATH, body, sub=sub))


def get_history(function: Functions, sub: str = "alice", **params: Any) -> Invoked:
    """GET the caller's growth history with these query parameters; the test checks the status."""
    event = http_event("GET", HISTORY_PATH, sub=sub, rawQueryString=urlencode(params))
    event["queryStringParameters"] = {key: str(value) for key, value in params.items()} or None
    return invoke(function("GetStatsHistoryFunction"), event)


def sync_over_http(stack: LocalStack, user: str, platform: str, body: Any) -> Reply:
    """POST a sync body to a platform's route of a running local API as `user`; the test checks the
    status."""
    return stack.request("POST", f"{SYNC_PATH}/{platform}", body, token=stack.token(user))


def synced_over_http(stack: LocalStack, user: str, platform: str, body: Any) -> dict[str, Any]:
    """Given-step over HTTP: a sync that must succeed. Asserts 200 and returns the response body."""
    reply = sync_over_http(stack, user, platform, body)
    assert reply.status == 200, reply.body
    answer: dict[str, Any] = reply.json()
    return answer


# --- Reads of the moto table, as DynamoDB holds it.


def table_items(dynamodb: Any) -> list[dict[str, Any]]:
    """Every item of the profiles table in key order, the shared RapidAPI plan's bookkeeping too."""
    items: list[dict[str, Any]] = dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def user_items(dynamodb: Any) -> list[dict[str, Any]]:
    """The profiles and history in the table, in key order, without the RapidAPI plan's QUOTA# items:
    a fetch, even one that failed upstream, spends its slot of the plan, which is no change to anyone's
    data."""
    return [item for item in table_items(dynamodb) if not item["pk"]["S"].startswith(QUOTA_PREFIX)]


def history_items(dynamodb: Any, user: str = "alice") -> list[dict[str, Any]]:
    """A user's HISTORY# items, in key order."""
    items: list[dict[str, Any]] = dynamodb.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :history)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user}"}, ":history": {"S": "HISTORY#"}},
    )["Items"]
    return items
