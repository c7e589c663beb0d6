"""The real local stack for the integration tests: DynamoDB Local plus the local API, on free ports.

One stack serves the whole session, with the sync cooldown off so tests can sync freely;
tests that need another setting start an extra API that shares its DynamoDB Local.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.fake_rapidapi import FakeRapidApi
from tests.helpers import served_fake_vendors
from tests.integration.stack import LocalStack, start_stack, stop_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """DynamoDB Local and the local API, started once for the session and stopped at its end."""
    running = start_stack(tmp_path_factory.mktemp("localrun"), {"SYNC_COOLDOWN_SECONDS": "0"})
    try:
        yield running
    finally:
        stop_stack(running)


@pytest.fixture(scope="session")
def extra_api(stack: LocalStack) -> Iterator[Callable[[dict[str, str]], LocalStack]]:
    """Start another local API with other settings, sharing the session's DynamoDB Local."""
    started: list[LocalStack] = []

    def start(environment: dict[str, str]) -> LocalStack:
        api = start_stack(stack.state_dir, environment, dynamodb_port=stack.dynamodb_port, name="extra")
        started.append(api)
        return api

    yield start
    for api in started:
        stop_stack(api)


@pytest.fixture
def user() -> str:
    """A user id no other test uses, so tests sharing the stack never see each other's data."""
    return f"user-{uuid.uuid4()}"


@pytest.fixture
def rapidapi() -> Iterator[tuple[FakeRapidApi, str]]:
    """The fake vendors (RapidAPI's hosts, the YouTube Data API) on 127.0.0.1 and their URL, for one test."""
    yield from served_fake_vendors()


@pytest.fixture(scope="module")
def module_rapidapi() -> Iterator[tuple[FakeRapidApi, str]]:
    """The same, shared by a module's tests (for module-scoped APIs pointed at it)."""
    yield from served_fake_vendors()
