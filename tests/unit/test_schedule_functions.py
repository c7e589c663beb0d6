"""The scheduled sync's two functions through their handlers (moto DynamoDB and SQS): the schedule kept
on the profile, the dispatcher's messages, and the worker's partial failures. The logic alone is in
test_schedule_logic.py, the index over DynamoDB in test_schedule_index.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from localrun.sync_now import sqs_event as localrun_sqs_event
from social_sync.data.keys import SYNC_DUE_INDEX, SYNC_SHARDS, sync_shard
from social_sync.models import utc_now
from tests.fake_rapidapi import FakeRapidApi, Reply
from tests.helpers import (
    TABLE_NAME,
    FakeContext,
    history_items,
    http_event,
    invoke,
    load_event,
    run_dispatcher,
    synced,
)

ME = "/api/v1/profiles/me"


# The worker's whole timeout (template.yaml), for a Lambda context with all of it ahead.
WORKER_TIMEOUT_SECONDS = 180


@pytest.fixture
def queue(dynamodb: Any, env: pytest.MonkeyPatch) -> str:
    """A moto SQS queue the dispatcher sends to (SYNC_QUEUE_URL)."""
    url = boto3.client("sqs").create_queue(QueueName="SyncQueue")["QueueUrl"]
    env.setenv("SYNC_QUEUE_URL", url)
    return url


def put_profile(function: Callable[[str], ModuleType], user: str, body: dict[str, Any]) -> dict[str, Any]:
    """Given-step: PUT /profiles/me as `user`; asserts 200 and returns the profile."""
    status, answer, _ = invoke(function("UpdateProfileFunction"), http_event("PUT", ME, body, sub=user))
    assert status == 200, answer
    profile: dict[str, Any] = answer["profile"]
    return profile


def schedule(
    function: Callable[[str], ModuleType], user: str, frequency: str = "daily", **linked: str
) -> None:
    """A creator who turned autoSync on, with these linked accounts."""
    body: dict[str, Any] = {"syncSettings": {"autoSync": True, "frequency": frequency}}
    if linked:
        body["linkedAccounts"] = linked
    put_profile(function, user, body)


def stored(dynamodb: Any, user: str) -> dict[str, Any]:
    item = dynamodb.get_item(TableName=TABLE_NAME, Key={"pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}})
    return dict(item["Item"])


def backdate_sync(dynamodb: Any, user: str, platform: str, by: timedelta) -> None:
    """Move a platform's last sync into the past, as if it had happened `by` ago."""
    earlier = (utc_now() - by).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": f"USER#{user}"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET stats.platformBreakdown.#platform.lastSyncedAt = :earlier",
        ExpressionAttributeNames={"#platform": platform},
        ExpressionAttributeValues={":earlier": {"S": earlier}},
    )


def due_index(dynamodb: Any) -> list[str]:
    """The user ids in the SyncDue index, all shards."""
    users = []
    for shard in range(SYNC_SHARDS):
        response = dynamodb.query(
            TableName=TABLE_NAME,
            IndexName=SYNC_DUE_INDEX,
            KeyConditionExpression="syncShard = :shard",
            ExpressionAttributeValues={":shard": {"S": str(shard)}},
        )
        users += [item["pk"]["S"].removeprefix("USER#") for item in response["Items"]]
    return sorted(users)


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS event as Lambda's poller delivers it, one record per body (as `make sync-now` builds it)."""
    return localrun_sqs_event(
        list(bodies), "arn:aws:sqs:us-east-1:123456789012:SyncQueue", "us-east-1", 1795428000
    )


def refresh_event(*users: str) -> dict[str, Any]:
    return sqs_event(*(json.dumps({"userId": user}) for user in users))


def run_worker(function: Callable[[str], ModuleType], event: dict[str, Any]) -> list[str]:
    """Invoke the worker; returns the message ids it reported failed."""
    result = function("SyncWorkerFunction").lambda_handler(event, FakeContext(WORKER_TIMEOUT_SECONDS))
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def received(queue: str) -> list[str]:
    """The user ids waiting in the queue (drained)."""
    sqs = boto3.client("sqs")
    users = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            users.append(json.loads(message["Body"])["userId"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return sorted(users)


# --- The schedule on the profile.


def test_turning_auto_sync_on_makes_the_profile_due_now_and_off_takes_it_away(
    function: Any, dynamodb: Any
) -> None:
    # When a creator turns autoSync on
    profile = put_profile(function, "alice", {"syncSettings": {"autoSync": True, "frequency": "weekly"}})

    # Then their profile is in the index, due at once, and none of it shows on the wire
    item = stored(dynamodb, "alice")
    assert due_index(dynamodb) == ["alice"]
    assert item["syncDueAt"]["S"] == item["syncDispatchAt"]["S"] == profile["updatedAt"]
    assert item["syncShard"]["S"] == sync_shard("alice")
    assert not {"syncDueAt", "syncDispatchAt", "syncShard"} & set(profile)

    # When they save the same settings again, the schedule stays; when they turn it off, it goes
    put_profile(function, "alice", {"bio": "x", "syncSettings": {"autoSync": True, "frequency": "daily"}})
    assert stored(dynamodb, "alice")["syncDueAt"] == item["syncDueAt"]
    put_profile(function, "alice", {"syncSettings": {"autoSync": False}})
    assert due_index(dynamodb) == []
    assert "syncDueAt" not in stored(dynamodb, "alice")


def test_profiles_without_auto_sync_never_enter_the_index(function: Any, dynamodb: Any) -> None:
    # Given a profile with a linked account but autoSync never turned on, synced by hand
    put_profile(function, "bob", {"linkedAccounts": {"tiktok": "bob"}})
    synced(function, "tiktok", {"followers": 3})

    # Then the index does not hold it
    assert due_index(dynamodb) == []


def test_a_sync_keeps_the_profile_on_the_schedule(function: Any, dynamodb: Any) -> None:
    # Given a scheduled profile
    schedule(function, "alice")
    before = stored(dynamodb, "alice")

    # When the user syncs
    synced(function, "tiktok", {"followers": 3})

    # Then the numbers change and the schedule stays as it was
    after = stored(dynamodb, "alice")
    assert after["stats"] != before["stats"]
    assert {key: after[key] for key in ("syncDueAt", "syncDispatchAt", "syncShard")} == {
        key: before[key] for key in ("syncDueAt", "syncDispatchAt", "syncShard")
    }


# --- The dispatcher.


def test_the_dispatcher_function_sends_one_message_per_due_profile_to_sqs(
    function: Any, dynamodb: Any, queue: str
) -> None:
    # Given three scheduled profiles
    for user in ("alice", "bob", "carol"):
        schedule(function, user)

    # When the dispatcher function runs
    summary = run_dispatcher(function)

    # Then one message per profile is in SQS, and a second run finds them all claimed
    assert summary == {"dispatched": 3, "skipped": 0, "deferred": False}
    assert received(queue) == ["alice", "bob", "carol"]
    assert run_dispatcher(function)["dispatched"] == 0


# --- The worker.


def test_one_failing_platform_leaves_the_others_refreshed_and_the_message_for_retry(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    # Given Instagram numbers the app sent yesterday, then a due profile with three linked accounts
    synced(function, "instagram", {"followers": 500, "engagement": 3.0})
    backdate_sync(dynamodb, "alice", "instagram", timedelta(days=1))
    schedule(function, "alice", tiktok="charlidamelio", twitch="ninja", instagram="nasa")
    due = stored(dynamodb, "alice")["syncDueAt"]
    before = stored(dynamodb, "alice")["stats"]["M"]["platformBreakdown"]["M"]["instagram"]
    # And RapidAPI failing for Instagram
    rapidapi.always("instagram", "nasa", Reply(503))

    # When the worker gets the profile's message
    event = refresh_event("alice")
    failed = run_worker(function, event)

    # Then the failure is reported for retry, and only for that message
    assert failed == [event["Records"][0]["messageId"]]
    # And TikTok and Twitch hold RapidAPI's numbers, written by the schedule
    item = stored(dynamodb, "alice")
    breakdown = item["stats"]["M"]["platformBreakdown"]["M"]
    assert breakdown["tiktok"]["M"]["followers"]["N"] == "156183422"
    assert breakdown["twitch"]["M"]["followers"]["N"] == "19234501"
    assert {breakdown[p]["M"]["source"]["S"] for p in ("tiktok", "twitch")} == {"rapidapi"}
    # And nothing else was touched: Instagram as it was, the schedule not moved on
    assert breakdown["instagram"] == before
    assert item["syncDueAt"] == due
    scheduled = [h for h in history_items(dynamodb, "alice") if h["trigger"]["S"] == "schedule"]
    assert sorted(h["platform"]["S"] for h in scheduled) == ["tiktok", "twitch"]

    # When SQS delivers the message again and Instagram is still down
    assert run_worker(function, refresh_event("alice"))
    # Then only Instagram is asked for again
    assert (rapidapi.count("tiktok"), rapidapi.count("twitch")) == (1, 1)

    # When Instagram recovers and the message comes once more
    rapidapi.heal("instagram", "nasa")
    assert run_worker(function, refresh_event("alice")) == []

    # Then all three are fresh and the next refresh is a day after the due one
    item = stored(dynamodb, "alice")
    assert item["stats"]["M"]["platformBreakdown"]["M"]["instagram"]["M"]["source"]["S"] == "rapidapi"
    next_due = datetime.fromisoformat(item["syncDueAt"]["S"])
    assert next_due == datetime.fromisoformat(due["S"]) + timedelta(days=1)
    assert item["syncDispatchAt"] == item["syncDueAt"]
    assert (rapidapi.count("tiktok"), rapidapi.count("twitch")) == (1, 1)


def test_a_duplicate_message_for_a_refreshed_profile_costs_no_request(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a profile the worker has just refreshed
    schedule(function, "alice", tiktok="charlidamelio")
    assert run_worker(function, refresh_event("alice")) == []
    after_first = stored(dynamodb, "alice")

    # When SQS delivers the same message again
    assert run_worker(function, refresh_event("alice")) == []

    # Then nothing is fetched and nothing changes
    assert rapidapi.count() == 1
    assert stored(dynamodb, "alice") == after_first


def test_an_account_the_platform_no_longer_has_does_not_hold_the_schedule_back(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a scheduled profile linked to an account Twitter no longer has
    schedule(function, "alice", frequency="hourly", tiktok="charlidamelio", twitter="ghost")
    due = datetime.fromisoformat(stored(dynamodb, "alice")["syncDueAt"]["S"])

    # When the worker refreshes it, the message succeeds
    assert run_worker(function, refresh_event("alice")) == []

    # Then TikTok is saved, the schedule moves on, and the link stays for the user to fix
    item = stored(dynamodb, "alice")
    assert set(item["stats"]["M"]["platformBreakdown"]["M"]) == {"tiktok"}
    assert datetime.fromisoformat(item["syncDueAt"]["S"]) == due + timedelta(hours=1)
    assert item["linkedAccounts"]["M"]["twitter"]["S"] == "ghost"


def test_a_profile_with_nothing_linked_just_moves_on(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a scheduled profile with nothing linked
    schedule(function, "alice", frequency="weekly")
    due = datetime.fromisoformat(stored(dynamodb, "alice")["syncDueAt"]["S"])

    # When the worker refreshes it
    assert run_worker(function, refresh_event("alice")) == []

    # Then its schedule moves on a week, with no fetch and no history
    assert datetime.fromisoformat(stored(dynamodb, "alice")["syncDueAt"]["S"]) == due + timedelta(weeks=1)
    assert rapidapi.count() == 0
    assert history_items(dynamodb, "alice") == []


def test_a_platform_synced_by_the_user_inside_the_cooldown_is_left_alone(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a scheduled profile whose TikTok the user synced just now, inside the cooldown
    env.setenv("SYNC_COOLDOWN_SECONDS", "60")
    schedule(function, "alice", tiktok="charlidamelio", twitch="ninja")
    synced(function, "tiktok", {"followers": 7})

    # When the worker refreshes it
    assert run_worker(function, refresh_event("alice")) == []

    # Then only Twitch is fetched; the user's TikTok numbers stay
    breakdown = stored(dynamodb, "alice")["stats"]["M"]["platformBreakdown"]["M"]
    assert breakdown["tiktok"]["M"]["source"]["S"] == "client"
    assert breakdown["twitch"]["M"]["source"]["S"] == "rapidapi"
    assert rapidapi.count("tiktok") == 0


def test_messages_for_profiles_not_due_are_acknowledged_without_work(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a profile without autoSync, and a user with no profile
    put_profile(function, "manual", {"linkedAccounts": {"tiktok": "charlidamelio"}})

    # When messages for them arrive, then they succeed without a fetch
    assert run_worker(function, refresh_event("manual", "nobody")) == []
    assert rapidapi.count() == 0


POISON = {
    "not json": "refresh alice please",
    "wrong shape": json.dumps({"user": "alice"}),
    "extra fields": json.dumps({"userId": "alice", "followers": 10}),
    "empty user": json.dumps({"userId": ""}),
}


@pytest.mark.parametrize("body", POISON.values(), ids=POISON.keys())
def test_a_poison_message_fails_alone(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi, body: str
) -> None:
    # Given a batch of a poison message and a good one
    schedule(function, "alice", tiktok="charlidamelio")
    event = sqs_event(body, json.dumps({"userId": "alice"}))

    # When the worker takes it
    failed = run_worker(function, event)

    # Then only the poison message is handed back; the good one is refreshed
    assert failed == [event["Records"][0]["messageId"]]
    assert rapidapi.count() == 1


def test_records_left_without_enough_time_are_handed_back_unprocessed(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    # Given a message, and a worker invocation with 30 seconds left
    schedule(function, "alice", tiktok="charlidamelio")
    event = refresh_event("alice")

    # When the worker takes it
    result = function("SyncWorkerFunction").lambda_handler(event, FakeContext(remaining_seconds=30))

    # Then it is handed back untouched, for SQS to deliver again
    assert result["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]
    assert rapidapi.count() == 0


# --- The sample events in events/schedule/, as `sam local invoke -e` would send them.


def test_the_sample_schedule_event_dispatches_the_due_profiles(function: Any, queue: str) -> None:
    # Given one creator with autoSync on
    put_profile(function, "alice", {"syncSettings": {"autoSync": True}})
    event = load_event("schedule/dispatch.json")
    assert event["detail-type"] == "Scheduled Event"

    # When EventBridge's scheduled event reaches the dispatcher
    summary = function("ScheduledSyncFunction").lambda_handler(event, FakeContext(60))

    # Then that profile is queued
    assert summary["dispatched"] == 1
    assert received(queue) == ["alice"]


def test_the_sample_sqs_batch_refreshes_both_profiles(function: Any, rapidapi: FakeRapidApi) -> None:
    # Given the two users of the sample batch, due, one with linked accounts
    event = load_event("schedule/worker_batch.json")
    users = [json.loads(record["body"])["userId"] for record in event["Records"]]
    settings = [
        {
            "syncSettings": {"autoSync": True},
            "linkedAccounts": {"tiktok": "charlidamelio", "twitch": "ninja"},
        },
        {"syncSettings": {"autoSync": True, "frequency": "weekly"}},
    ]
    for user, body in zip(users, settings, strict=True):
        status, _, _ = invoke(
            function("UpdateProfileFunction"), http_event("PUT", "/api/v1/profiles/me", body, sub=user)
        )
        assert status == 200

    # When Lambda's SQS poller hands the batch to the worker
    result = function("SyncWorkerFunction").lambda_handler(event, FakeContext(WORKER_TIMEOUT_SECONDS))

    # Then no record failed and the linked platforms were fetched
    assert result == {"batchItemFailures": []}
    assert sorted(str(request.platform) for request in rapidapi.requests) == ["tiktok", "twitch"]


def test_a_spent_youtube_quota_leaves_the_profile_due_without_failing_the_message(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a due profile with a TikTok account and a YouTube channel, and today's YouTube quota spent
    env.setenv("YOUTUBE_DAILY_QUOTA_UNITS", "0")
    schedule(function, "alice", tiktok="charlidamelio", youtube="mkbhd")
    due = stored(dynamodb, "alice")["syncDueAt"]

    # When the worker gets the profile's message
    failed = run_worker(function, refresh_event("alice"))

    # Then the message is done (SQS retrying it cannot help before Google's reset), TikTok is refreshed,
    # YouTube was never asked, and the profile stays due for a later tick
    assert failed == []
    breakdown = stored(dynamodb, "alice")["stats"]["M"]["platformBreakdown"]["M"]
    assert sorted(breakdown) == ["tiktok"]
    assert rapidapi.count("youtube") == 0
    assert stored(dynamodb, "alice")["syncDueAt"] == due


def test_a_linked_youtube_channel_is_refreshed_by_the_schedule(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    schedule(function, "alice", youtube="mkbhd")

    assert run_worker(function, refresh_event("alice")) == []

    breakdown = stored(dynamodb, "alice")["stats"]["M"]["platformBreakdown"]["M"]
    assert breakdown["youtube"]["M"]["followers"]["N"] == "19600000"
    assert [h["trigger"]["S"] for h in history_items(dynamodb, "alice")] == ["schedule"]
