"""Idempotent retries (Idempotency-Key) and the ProfileStatsSynced event on EventBridge."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.helpers import TABLE_NAME, sync, sync_all, synced
from tests.template import table_definition

IDEMPOTENCY_TABLE = "social-sync-idempotency-unit"
BUS = "social-sync-stats-unit"


@pytest.fixture
def bus_events(dynamodb: Any, env: pytest.MonkeyPatch) -> Any:
    """An idempotency table and an event bus (from the template's definitions), and a queue that
    receives every event the bus gets, as a subscriber would."""
    dynamodb.create_table(TableName=IDEMPOTENCY_TABLE, **table_definition("IdempotencyTable"))
    events = boto3.client("events")
    sqs = boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="all", EventBusName=BUS, EventPattern=json.dumps({"source": ["social-sync"]}))
    events.put_targets(Rule="all", EventBusName=BUS, Targets=[{"Id": "q", "Arn": queue_arn}])
    env.setenv("IDEMPOTENCY_TABLE_NAME", IDEMPOTENCY_TABLE)
    env.setenv("EVENT_BUS_NAME", BUS)

    def received() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return received


def profile_version(dynamodb: Any) -> str:
    item = dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": "USER#alice"}, "sk": {"S": "PROFILE"}})[
        "Item"
    ]
    return str(item["version"]["N"])


def test_a_retry_with_the_same_key_gets_the_first_response_and_writes_once(
    function: Any, dynamodb: Any, bus_events: Any
) -> None:
    # Given a sync under an Idempotency-Key
    first = sync(function, "tiktok", {"followers": 1000}, idempotency_key="k-1")

    # When it is retried under the same key
    again = sync(function, "tiktok", {"followers": 1000}, idempotency_key="k-1")

    # Then the retry gets the first response, and the profile and the bus saw one write
    assert first[0] == again[0] == 200
    assert again[1] == first[1]
    assert profile_version(dynamodb) == "1"
    assert len(bus_events()) == 1  # the replay announces nothing new


def test_a_different_body_under_a_used_key_is_422_and_changes_nothing(
    function: Any, dynamodb: Any, bus_events: Any
) -> None:
    # Given a sync under a key
    synced(function, "tiktok", {"followers": 1000}, idempotency_key="k-2")

    # When another body is sent under the same key
    status, response, _ = sync(function, "tiktok", {"followers": 2000}, idempotency_key="k-2")

    # Then it is a 422 and the profile is unchanged
    assert status == 422
    assert response["success"] is False
    assert profile_version(dynamodb) == "1"


def test_keys_are_per_caller_and_without_a_key_every_request_writes(
    function: Any, dynamodb: Any, bus_events: Any
) -> None:
    # Given alice synced under a key
    synced(function, "tiktok", {"followers": 1}, idempotency_key="shared")

    # When bob uses the same key, then alice syncs twice without one
    status, response, _ = sync(function, "tiktok", {"followers": 1}, sub="bob", idempotency_key="shared")
    synced(function, "tiktok", {"followers": 1})
    synced(function, "tiktok", {"followers": 1})

    # Then bob's request ran as his own, and each of alice's requests wrote
    assert status == 200
    assert response["profile"]["userId"] == "bob"
    assert profile_version(dynamodb) == "3"


def test_a_refused_request_is_not_remembered(
    function: Any, dynamodb: Any, bus_events: Any, env: pytest.MonkeyPatch
) -> None:
    # Given a sync refused by the cooldown under a key
    env.setenv("SYNC_COOLDOWN_SECONDS", "3600")
    synced(function, "tiktok", {"followers": 1})
    status, _, _ = sync(function, "tiktok", {"followers": 2}, idempotency_key="k-3")
    assert status == 429

    # When the cooldown no longer applies and the same request is sent under the same key
    env.setenv("SYNC_COOLDOWN_SECONDS", "0")
    status, response, _ = sync(function, "tiktok", {"followers": 2}, idempotency_key="k-3")

    # Then it runs for real
    assert status == 200
    assert response["profile"]["stats"]["totalFollowers"] == 2


def test_an_unusable_key_is_400(function: Any, bus_events: Any) -> None:
    status, response, _ = sync(function, "tiktok", {"followers": 1}, idempotency_key="x" * 256)
    assert status == 400
    assert response["errors"][0]["field"] == "Idempotency-Key"


def test_every_successful_sync_puts_a_profile_stats_synced_event(function: Any, bus_events: Any) -> None:
    # When a platform is synced, then two at once
    synced(function, "tiktok", {"followers": 1000, "engagement": 7.5})
    status, body, _ = sync_all(
        function, {"platforms": {"twitch": {"followers": 300}, "twitter": {"followers": 50}}}
    )
    assert status == 200

    # Then the bus got one event per sync, with the new totals
    events = bus_events()
    assert [event["detail-type"] for event in events] == ["ProfileStatsSynced", "ProfileStatsSynced"]
    assert all(event["source"] == "social-sync" for event in events)
    assert events[0]["detail"] == {
        "userId": "alice",
        "platforms": ["tiktok"],
        "totalFollowers": 1000,
        "avgEngagement": 7.5,
        "source": "client",
        "syncedAt": events[0]["detail"]["syncedAt"],
    }
    assert events[1]["detail"]["platforms"] == ["twitch", "twitter"]
    assert events[1]["detail"]["totalFollowers"] == 1350
    assert events[1]["detail"]["syncedAt"] == body["profile"]["updatedAt"]


def test_a_failed_sync_puts_no_event(function: Any, bus_events: Any) -> None:
    # When a sync is refused
    status, _, _ = sync(function, "tiktok", {"followers": "lots"})

    # Then the bus got nothing
    assert status == 400
    assert bus_events() == []


def test_a_bus_that_cannot_be_reached_neither_fails_nor_undoes_the_sync(
    function: Any, dynamodb: Any, bus_events: Any, env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an event bus that does not exist
    env.setenv("EVENT_BUS_NAME", "no-such-bus")

    # When a sync runs
    status, body, _ = sync(function, "tiktok", {"followers": 10})

    # Then it succeeds and is stored, and the failed publish is counted
    assert status == 200
    assert body["profile"]["stats"]["totalFollowers"] == 10
    assert profile_version(dynamodb) == "1"
    out = capsys.readouterr().out
    assert '"StatsEventPublishFailures"' in out  # counted as a CloudWatch metric (EMF)
