"""The composition root: each part built once per container, even when threads race for it, and
fakes handed in where tests need them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from social_sync.container import Container, part
from social_sync.data.profiles import DynamoProfiles
from social_sync.settings import Settings
from tests.fakes import InMemoryProfiles


def test_a_part_is_built_once_however_many_threads_ask_at_once(dynamodb: Any) -> None:
    # Given a fresh container, and eight threads released at the same moment
    parts = Container(Settings.from_env(), dynamodb=dynamodb)
    start = threading.Barrier(8)

    def ask(_: int) -> object:
        start.wait()
        return parts.profiles

    # When they all ask for the profiles repository
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(8)))

    # Then they all get the one repository, over the container's client
    assert isinstance(answers[0], DynamoProfiles)
    assert all(answer is answers[0] for answer in answers)


def test_a_part_is_built_holding_the_containers_lock(dynamodb: Any) -> None:
    # Given a container with a part that notes whether its builder holds the container's lock
    held: list[bool] = []

    class Noting(Container):
        @part
        def noted(self) -> object:
            held.append(self._lock._is_owned())  # type: ignore[attr-defined]
            return object()

    parts = Noting(Settings.from_env(), dynamodb=dynamodb)

    # When the part is asked for twice, then it was built once, under the lock
    assert parts.noted is parts.noted
    assert held == [True]


def test_a_part_handed_in_is_used_as_it_is_and_a_misspelt_one_is_refused(dynamodb: Any) -> None:
    fake = InMemoryProfiles()

    assert Container(Settings.from_env(), profiles=fake).profiles is fake
    with pytest.raises(TypeError, match="no such part of the container: profile"):
        Container(Settings.from_env(), profile=fake)


def test_the_deployed_container_makes_its_dynamodb_client_at_once_and_the_rest_on_first_use(
    dynamodb: Any,
) -> None:
    # When a function's container is made from the environment
    parts = Container.from_env()

    # Then its DynamoDB client already exists (init, not the first request, pays for it), and
    # nothing else does yet: a numbers-only sync never builds the vendors' client
    assert set(parts._built) == {"dynamodb"}
