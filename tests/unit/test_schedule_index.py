"""The refresh schedule's index over DynamoDB (social_sync.data.schedule_index, moto): what it reads and
how a claim holds a profile. What the dispatcher does with them is in test_schedule_logic.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from social_sync.data.keys import SYNC_DUE_INDEX, SYNC_SHARDS
from social_sync.data.profiles import DynamoProfiles
from social_sync.data.schedule_index import DynamoScheduleIndex
from social_sync.models import utc_now
from tests.helpers import TABLE_NAME


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


def profiles(dynamodb: Any) -> DynamoProfiles:
    return DynamoProfiles(dynamodb, TABLE_NAME, history_retention_days=400, write_attempts=3)


def test_the_due_profiles_come_from_one_query_per_shard_never_a_scan(dynamodb: Any) -> None:
    # Given 23 profiles due now, one due tomorrow, and one not on the schedule at all
    now = utc_now()
    users = [f"user-{n:02d}" for n in range(23)]
    for user in users:
        profiles(dynamodb).update_fields(user, {}, now, schedule_from=now)
    profiles(dynamodb).update_fields("later", {}, now, schedule_from=now + timedelta(days=1))
    profiles(dynamodb).update_fields("manual", {"bio": "no schedule"}, now)
    client: Any = CallRecorder(dynamodb)

    # When the index is read
    due = list(DynamoScheduleIndex(client, TABLE_NAME).due_profiles(now, page_size=5))

    # Then exactly the due ones come back, each with the dispatch time a claim is conditional on
    assert sorted(profile.user_id for profile in due) == users
    assert {profile.dispatch_at for profile in due} == {now}
    # And through Queries of the SyncDue index alone, one per shard (and pages), never a scan
    assert {name for name, _ in client.calls} == {"query"}
    queries = [kwargs for _, kwargs in client.calls]
    assert {query["IndexName"] for query in queries} == {SYNC_DUE_INDEX}
    assert {query["ExpressionAttributeValues"][":shard"]["S"] for query in queries} == {
        str(shard) for shard in range(SYNC_SHARDS)
    }


def test_a_claim_holds_only_if_the_profile_is_still_as_the_index_showed_it(dynamodb: Any) -> None:
    # Given a due profile, as the index shows it
    now = utc_now()
    profiles(dynamodb).update_fields("alice", {}, now, schedule_from=now)
    index = DynamoScheduleIndex(dynamodb, TABLE_NAME)
    [seen] = index.due_profiles(now)

    # When two dispatcher runs claim it from that same reading
    first = index.claim_for_dispatch("alice", seen.dispatch_at, now + timedelta(minutes=30))
    second = index.claim_for_dispatch("alice", seen.dispatch_at, now + timedelta(minutes=30))

    # Then only the first holds it: it is off the index until the claim runs out, and a concurrent
    # sync sees a new version (the claim bumped it) rather than writing the claim away
    assert (first, second) == (True, False)
    assert list(index.due_profiles(now + timedelta(minutes=15))) == []
    assert [p.user_id for p in index.due_profiles(now + timedelta(minutes=31))] == ["alice"]
    stored = profiles(dynamodb).get("alice")
    assert stored is not None
    assert stored.version == 2
