"""The scheduled sync: the schedule kept on the profile, the dispatcher's index query and batching
(moto DynamoDB and SQS), and the worker's partial failures, through the real handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from localrun.sync_now import sqs_event as localrun_sqs_event
from social_sync.data.keys import SYNC_DUE_INDEX, SYNC_SHARDS, sync_shard
from social_sync.data.schedule_index import DynamoScheduleIndex
from social_sync.models import utc_now
from social_sync.profiles import SYNC_PERIODS, next_due_at
from social_sync.schedule import QUEUE_BATCH, dispatch_due_profiles
from tests.fake_rapidapi import FakeRapidApi, Reply
from tests.fakes import RecordingQueue
from tests.helpers import (
    TABLE_NAME,
    FakeContext,
    history_items,
    http_event,
    invoke,
    load_event,
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


def run_dispatcher(function: Callable[[str], ModuleType]) -> dict[str, Any]:
    result: dict[str, Any] = function("ScheduledSyncFunction").lambda_handler({}, FakeContext(60))
    return result


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


@given(
    due=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)),
    late=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    frequency=st.sampled_from(sorted(SYNC_PERIODS)),
)
def test_the_next_due_time_is_the_first_slot_of_the_schedule_after_now(
    due: datetime, late: timedelta, frequency: str
) -> None:
    period = SYNC_PERIODS[frequency]
    now = due + late

    following = next_due_at(due, frequency, now)

    assert now < following <= now + period
    assert (following - due) % period == timedelta(0)


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
    put_profile(function, "bob", {"linkedAccounts": {"tiktok": "bob"}})
    synced(function, "tiktok", {"followers": 3})

    assert due_index(dynamodb) == []


def test_a_sync_keeps_the_profile_on_the_schedule(function: Any, dynamodb: Any) -> None:
    schedule(function, "alice")
    before = stored(dynamodb, "alice")

    synced(function, "tiktok", {"followers": 3})

    after = stored(dynamodb, "alice")
    assert after["stats"] != before["stats"]
    assert {key: after[key] for key in ("syncDueAt", "syncDispatchAt", "syncShard")} == {
        key: before[key] for key in ("syncDueAt", "syncDispatchAt", "syncShard")
    }


# --- The dispatcher.


class CallRecorder:
    """A DynamoDB client that records which operations it was asked for."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return operation(**kwargs)

        return call


def test_the_dispatcher_reads_due_profiles_from_the_index_and_queues_them_in_batches(
    function: Any, dynamodb: Any
) -> None:
    # Given 23 profiles on the schedule, one with autoSync off, one not due until tomorrow
    users = [f"user-{n:02d}" for n in range(23)]
    for user in users:
        schedule(function, user)
    put_profile(function, "manual", {"linkedAccounts": {"tiktok": "manual"}})
    schedule(function, "later")
    tomorrow = (utc_now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    dynamodb.update_item(
        TableName=TABLE_NAME,
        Key={"pk": {"S": "USER#later"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET syncDueAt = :t, syncDispatchAt = :t",
        ExpressionAttributeValues={":t": {"S": tomorrow}},
    )
    client: Any = CallRecorder(dynamodb)
    store = DynamoScheduleIndex(client, TABLE_NAME)
    queue = RecordingQueue()

    # When the dispatcher runs
    report = dispatch_due_profiles(store, queue, utc_now(), claim_seconds=1800)

    # Then exactly the due ones went out, at most QUEUE_BATCH per message batch
    assert sorted(report.sent) == users
    assert [len(batch) for batch in queue.batches] == [QUEUE_BATCH, QUEUE_BATCH, 3]
    # And it found them with one Query per shard of the index: never a scan
    operations = [name for name, _ in client.calls]
    assert "scan" not in operations
    queries = [kwargs for name, kwargs in client.calls if name == "query"]
    assert len(queries) == SYNC_SHARDS
    assert all(query["IndexName"] == SYNC_DUE_INDEX for query in queries)


def test_a_claimed_profile_is_not_sent_again_until_its_claim_runs_out(function: Any, dynamodb: Any) -> None:
    schedule(function, "alice")
    store = DynamoScheduleIndex(dynamodb, TABLE_NAME)
    now = utc_now()

    first = dispatch_due_profiles(store, RecordingQueue(), now, claim_seconds=1800)
    again = dispatch_due_profiles(store, RecordingQueue(), now + timedelta(minutes=15), claim_seconds=1800)
    expired = dispatch_due_profiles(store, RecordingQueue(), now + timedelta(minutes=31), claim_seconds=1800)

    assert (first.sent, again.sent, expired.sent) == (["alice"], [], ["alice"])


def test_a_profile_that_changed_after_the_index_read_is_skipped_not_sent(
    function: Any, dynamodb: Any
) -> None:
    schedule(function, "alice")
    real = DynamoScheduleIndex(dynamodb, TABLE_NAME)
    seen = list(real.due_profiles(utc_now()))
    # Another dispatcher run claims it between this run's read and its claim.
    assert real.claim_for_dispatch("alice", seen[0].dispatch_at, utc_now() + timedelta(hours=1))

    class StaleIndex:
        def due_profiles(self, now: datetime) -> Any:
            return iter(seen)

        def claim_for_dispatch(self, user_id: str, seen_at: datetime, until: datetime) -> bool:
            return real.claim_for_dispatch(user_id, seen_at, until)

    report = dispatch_due_profiles(StaleIndex(), RecordingQueue(), utc_now(), claim_seconds=1800)

    assert (report.sent, report.skipped) == ([], 1)


def test_a_dispatcher_short_of_time_leaves_the_rest_for_the_next_tick(function: Any, dynamodb: Any) -> None:
    for user in ("a", "b"):
        schedule(function, user)
    store = DynamoScheduleIndex(dynamodb, TABLE_NAME)

    report = dispatch_due_profiles(
        store, RecordingQueue(), utc_now(), claim_seconds=60, time_left=lambda: 5.0
    )

    assert (report.sent, report.deferred) == ([], True)
    assert sorted(user.user_id for user in store.due_profiles(utc_now())) == ["a", "b"]


def test_the_dispatcher_function_sends_one_message_per_due_profile_to_sqs(
    function: Any, dynamodb: Any, queue: str
) -> None:
    for user in ("alice", "bob", "carol"):
        schedule(function, user)

    summary = run_dispatcher(function)

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
    schedule(function, "alice", tiktok="charlidamelio")
    assert run_worker(function, refresh_event("alice")) == []
    after_first = stored(dynamodb, "alice")

    assert run_worker(function, refresh_event("alice")) == []

    assert rapidapi.count() == 1
    assert stored(dynamodb, "alice") == after_first


def test_an_account_the_platform_no_longer_has_does_not_hold_the_schedule_back(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    schedule(function, "alice", frequency="hourly", tiktok="charlidamelio", twitter="ghost")
    due = datetime.fromisoformat(stored(dynamodb, "alice")["syncDueAt"]["S"])

    assert run_worker(function, refresh_event("alice")) == []

    item = stored(dynamodb, "alice")
    assert set(item["stats"]["M"]["platformBreakdown"]["M"]) == {"tiktok"}
    assert datetime.fromisoformat(item["syncDueAt"]["S"]) == due + timedelta(hours=1)
    assert item["linkedAccounts"]["M"]["twitter"]["S"] == "ghost"


def test_a_profile_with_nothing_linked_just_moves_on(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    schedule(function, "alice", frequency="weekly")
    due = datetime.fromisoformat(stored(dynamodb, "alice")["syncDueAt"]["S"])

    assert run_worker(function, refresh_event("alice")) == []

    assert datetime.fromisoformat(stored(dynamodb, "alice")["syncDueAt"]["S"]) == due + timedelta(weeks=1)
    assert rapidapi.count() == 0
    assert history_items(dynamodb, "alice") == []


def test_a_platform_synced_by_the_user_inside_the_cooldown_is_left_alone(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    env.setenv("SYNC_COOLDOWN_SECONDS", "60")
    schedule(function, "alice", tiktok="charlidamelio", twitch="ninja")
    synced(function, "tiktok", {"followers": 7})

    assert run_worker(function, refresh_event("alice")) == []

    breakdown = stored(dynamodb, "alice")["stats"]["M"]["platformBreakdown"]["M"]
    assert breakdown["tiktok"]["M"]["source"]["S"] == "client"
    assert breakdown["twitch"]["M"]["source"]["S"] == "rapidapi"
    assert rapidapi.count("tiktok") == 0


def test_messages_for_profiles_not_due_are_acknowledged_without_work(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    put_profile(function, "manual", {"linkedAccounts": {"tiktok": "charlidamelio"}})

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
    schedule(function, "alice", tiktok="charlidamelio")
    event = sqs_event(body, json.dumps({"userId": "alice"}))

    failed = run_worker(function, event)

    assert failed == [event["Records"][0]["messageId"]]
    assert rapidapi.count() == 1


def test_records_left_without_enough_time_are_handed_back_unprocessed(
    function: Any, dynamodb: Any, rapidapi: FakeRapidApi
) -> None:
    schedule(function, "alice", tiktok="charlidamelio")
    event = refresh_event("alice")

    result = function("SyncWorkerFunction").lambda_handler(event, FakeContext(remaining_seconds=30))

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
