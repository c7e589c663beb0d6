"""Unit-test fixtures: a moto DynamoDB table built from template.yaml, and the functions' environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.fake_rapidapi import FakeRapidApi
from tests.helpers import FETCH_STATE_TABLE_NAME, TABLE_NAME
from tests.template import load_function, table_definition


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
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in place of AWS, with test credentials in us-east-1 and no endpoint or profile of the shell's."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


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
