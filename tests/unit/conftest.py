"""Unit-test fixtures: a moto DynamoDB table built from template.yaml, and the functions' environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from social_sync.platforms import PLATFORM_SPECS
from tests.fake_rapidapi import FakeRapidApi
from tests.template import ROOT, load_function, table_definition

TABLE_NAME = "social-sync-unit"
FETCH_STATE_TABLE_NAME = "social-sync-unit-fetch-state"
PLATFORM_FUNCTIONS = {name: spec.function_id for name, spec in PLATFORM_SPECS.items()}


class FakeContext:
    """The parts of the Lambda context that Powertools reads."""

    function_name = "social-sync-unit"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:social-sync-unit"
    aws_request_id = "unit-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The function environment template.yaml gives, with the cooldown off unless a test turns it on."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": TABLE_NAME,
        "ENGAGEMENT_AVERAGE": "weighted",
        "ALLOW_CLIENT_REPORTED_STATS": "true",
        "SYNC_COOLDOWN_SECONDS": "0",
        "HISTORY_RETENTION_DAYS": "400",
        "POWERTOOLS_SERVICE_NAME": "social-sync",
        "FETCH_STATE_TABLE_NAME": FETCH_STATE_TABLE_NAME,
        # The shared quota paces at this rate; unit tests do not sleep, so slots must not run far ahead.
        "RAPIDAPI_REQUESTS_PER_SECOND": "1000",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_DYNAMODB", raising=False)
    # A developer's shell may carry a real key or a local fake's URL; unit tests use none of them.
    for name in (
        "RAPIDAPI_KEY",
        "RAPIDAPI_KEY_PARAMETER",
        "RAPIDAPI_BASE_URL",
        "YOUTUBE_API_KEY",
        "YOUTUBE_API_KEY_PARAMETER",
        "YOUTUBE_BASE_URL",
        "YOUTUBE_DAILY_QUOTA_UNITS",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def dynamodb(env: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto DynamoDB client with the ProfilesTable created from the template's own definition."""
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(TableName=TABLE_NAME, **table_definition())
        client.create_table(TableName=FETCH_STATE_TABLE_NAME, **table_definition("FetchStateTable"))
        yield client


@pytest.fixture
def function(dynamodb: Any) -> Callable[[str], ModuleType]:
    """Import a function by its logical id, inside the mocked AWS, after the environment is set."""
    return load_function


@pytest.fixture
def rapidapi(env: pytest.MonkeyPatch) -> FakeRapidApi:
    """RapidAPI replaced by the recorded payloads (tests/fake_rapidapi.py): every client the functions
    build talks to the fake, with a test key, and waits (backoff, rate cap) take no time."""
    from social_sync.container import Container
    from social_sync.settings import Settings

    fake = FakeRapidApi()

    # The composition root every function builds from, with the vendors' transport and waits replaced.
    def replayed(cls: type[Container]) -> Container:
        return cls(Settings.from_env(), transport=fake.transport, sleep=fake.sleeps.append)

    env.setattr(Container, "from_env", classmethod(replayed))
    env.setenv("RAPIDAPI_KEY", "test-rapidapi-key")
    env.setenv("YOUTUBE_API_KEY", "test-youtube-key")
    return fake


def load_event(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "events" / name).read_text())


def invoke(module: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Run a handler and decode its response: (status, JSON body, headers)."""
    result = module.lambda_handler(event, FakeContext())
    return result["statusCode"], json.loads(result["body"]), result.get("headers", {})


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
