"""The profiles repository (data.profiles): exact numbers, optimistic concurrency, atomic history, retries."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from social_sync.data.attributes import from_attributes, to_attributes
from social_sync.data.profiles import DynamoProfiles
from social_sync.errors import ConcurrentUpdateConflict, StoreUnavailable
from social_sync.models import (
    ENGAGEMENT_DECIMALS,
    MAX_FOLLOWERS,
    HistoryEntry,
    PlatformReading,
    Profile,
    ProfileChange,
    utc_now,
)
from social_sync.profiles import apply_sync
from tests.helpers import TABLE_NAME, history_items


def make_store(client: Any, attempts: int = 12, sleeps: list[float] | None = None) -> DynamoProfiles:
    record = sleeps.append if sleeps is not None else (lambda _: None)
    return DynamoProfiles(
        client, TABLE_NAME, history_retention_days=400, write_attempts=attempts, sleep=record
    )


def syncing(
    platform: str, followers: int | None = None, engagement: float | None = None, user: str = "alice"
) -> ProfileChange:
    """A store change that syncs one platform, as the HTTP route does."""

    def change(profile: Profile | None) -> tuple[Profile, list[HistoryEntry]]:
        updated, point = apply_sync(
            profile,
            user,
            platform,
            PlatformReading(followers=followers, engagement=engagement, source="client"),
            now=utc_now(),
            trigger="user",
            mode="weighted",
            cooldown_seconds=0,
        )
        return updated, [point]

    return change


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    followers=st.integers(min_value=0, max_value=MAX_FOLLOWERS),
    engagement=st.floats(min_value=0, max_value=100, allow_nan=False),
)
def test_numbers_come_back_from_dynamodb_exactly(dynamodb: Any, followers: int, engagement: float) -> None:
    store = make_store(dynamodb)
    user = f"user-{followers}-{engagement}"

    saved = store.change(user, syncing("tiktok", followers, engagement, user=user))
    loaded = store.get(user)

    assert loaded is not None
    tiktok = loaded.stats.platform_breakdown["tiktok"]
    assert tiktok.followers == followers
    assert tiktok.engagement == round(engagement, ENGAGEMENT_DECIMALS)
    assert loaded.to_wire() == saved.to_wire()


# JSON values DynamoDB can hold: numbers within its 38 significant digits and 1E-130..1E+125 range.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(min_value=-1e9, max_value=1e9, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-100)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(min_size=1, max_size=8), JSON_VALUES, max_size=6))
def test_attribute_values_are_what_boto3_writes_and_read_back_exactly(data: dict[str, Any]) -> None:
    # Given any JSON-ready dict, each float as the Decimal of its shortest repr (what the store keeps)
    exact = json.loads(json.dumps(data), parse_float=Decimal)
    # When it is written as DynamoDB attribute values
    written = to_attributes(data)
    # Then they are the ones boto3's own serializer makes, and both deserializers read them back alike
    assert written == {name: TypeSerializer().serialize(value) for name, value in exact.items()}
    read = from_attributes(written)
    assert read == exact
    assert read == {name: TypeDeserializer().deserialize(value) for name, value in written.items()}


def test_attribute_values_refuse_what_json_and_the_profile_table_do_not_hold() -> None:
    with pytest.raises(ValueError, match="unexpected DynamoDB attribute type SS"):
        from_attributes({"tags": {"SS": ["a"]}})
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        to_attributes({"engagement": float("nan")})


def test_each_sync_bumps_the_version_and_writes_one_history_entry(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    store.change("alice", syncing("tiktok", 10, 1.0))
    store.change("alice", syncing("twitch", 20))
    profile = store.change("alice", syncing("tiktok", 15))

    assert profile.version == 3
    points = history_items(dynamodb)
    assert [(p["platform"]["S"], p["followers"]["N"]) for p in points] == [
        ("tiktok", "10"),
        ("tiktok", "15"),
        ("twitch", "20"),
    ]
    expires = int(points[0]["expiresAt"]["N"])
    assert abs(expires - (utc_now() + timedelta(days=400)).timestamp()) < 60


def test_a_writer_that_loses_a_race_reads_again_and_both_syncs_land(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    store.change("alice", syncing("tiktok", 100, 2.0))
    raced = False
    tiktok_sync = syncing("tiktok", 150)

    def racing_change(profile: Profile | None) -> tuple[Profile, list[HistoryEntry]]:
        nonlocal raced
        if not raced:
            raced = True
            # Another request lands between our read and our write.
            store.change("alice", syncing("twitch", 50, 4.0))
        return tiktok_sync(profile)

    profile = store.change("alice", racing_change)

    assert profile.stats.platform_breakdown.keys() == {"tiktok", "twitch"}
    assert profile.stats.total_followers == 200
    assert profile.stats.avg_engagement == 2.5  # (150*2 + 50*4) / 200
    stored = store.get("alice")
    assert stored is not None
    assert stored.to_wire() == profile.to_wire()
    assert stored.version == 3
    assert len(history_items(dynamodb)) == 3  # the losing attempt wrote no history of its own


def test_writers_that_always_lose_give_up_after_the_bounded_attempts_with_jitter(dynamodb: Any) -> None:
    sleeps: list[float] = []
    store = make_store(dynamodb, attempts=4, sleeps=sleeps)
    competitor = make_store(dynamodb)
    store.change("alice", syncing("tiktok", 1))
    competing = iter(range(100))

    def always_raced(profile: Profile | None) -> tuple[Profile, list[HistoryEntry]]:
        competitor.change("alice", syncing("twitch", next(competing)))
        return syncing("tiktok", 999)(profile)

    with pytest.raises(ConcurrentUpdateConflict):
        store.change("alice", always_raced)

    stored = store.get("alice")
    assert stored is not None
    assert stored.stats.platform_breakdown["tiktok"].followers == 1  # our change never half-landed
    assert len(sleeps) == 4
    caps = [min(1.0, 0.02 * 2**attempt) for attempt in range(4)]
    assert all(0 <= slept <= cap for slept, cap in zip(sleeps, caps, strict=True))


def test_update_fields_creates_a_profile_then_keeps_its_stats(dynamodb: Any) -> None:
    store = make_store(dynamodb)
    created = store.update_fields("bob", {"displayName": "Bob", "niche": ["music"]}, utc_now())
    assert (created.display_name, created.stats.total_followers, created.version) == ("Bob", 0, 1)

    store.change("bob", syncing("instagram", 70, 3.0))
    updated = store.update_fields("bob", {"bio": "hi"}, utc_now())

    assert updated.version == 3
    assert (updated.bio, updated.display_name, updated.niche) == ("hi", "Bob", ["music"])
    assert updated.stats.total_followers == 70
    assert updated.created_at == created.created_at


def test_update_fields_puts_a_profile_on_the_schedule_once_and_takes_it_off(dynamodb: Any) -> None:
    # Given a profile put on the schedule, due now
    store = make_store(dynamodb)
    now = utc_now()
    scheduled = store.update_fields("bob", {}, now, schedule_from=now)

    # When it is put on it again later, then it keeps its due time; taken off, it has none
    again = store.update_fields("bob", {}, now + timedelta(hours=1), schedule_from=now + timedelta(hours=1))
    off = store.update_fields("bob", {}, now, unschedule=True)
    assert (scheduled.sync_due_at, again.sync_due_at, off.sync_due_at) == (now, now, None)
    # And asking for both at once is a bug, refused before anything is written
    with pytest.raises(ValueError, match="not both"):
        store.update_fields("bob", {"bio": "x"}, now, schedule_from=now, unschedule=True)
    assert make_store(dynamodb).get("bob") == off


def stubbed_client() -> Any:
    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - never sent: the Stubber answers
    )


@pytest.mark.parametrize(
    ("code", "reasons"),
    [
        ("TransactionCanceledException", [{"Code": "TransactionConflict"}, {"Code": "None"}]),
        ("TransactionCanceledException", [{"Code": "ThrottlingError"}, {"Code": "None"}]),
        ("ProvisionedThroughputExceededException", None),
        ("ThrottlingException", None),
    ],
)
def test_throttling_and_transaction_conflicts_are_retried(
    code: str, reasons: list[dict[str, str]] | None
) -> None:
    client = stubbed_client()
    sleeps: list[float] = []
    store = make_store(client, sleeps=sleeps)
    with Stubber(client) as stub:
        for _ in range(3):
            stub.add_response("get_item", {})
            stub.add_client_error(
                "transact_write_items",
                service_error_code=code,
                modeled_fields={"CancellationReasons": reasons} if reasons else None,
            )
        stub.add_response("get_item", {})
        stub.add_response("transact_write_items", {})

        profile = store.change("alice", syncing("tiktok", 5))

        stub.assert_no_pending_responses()
    assert profile.stats.total_followers == 5
    assert len(sleeps) == 3


def test_a_validation_failure_is_not_retried() -> None:
    client = stubbed_client()
    store = make_store(client)
    with Stubber(client) as stub:
        stub.add_response("get_item", {})
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={"CancellationReasons": [{"Code": "ValidationError"}]},
        )
        with pytest.raises(ClientError, match="TransactionCanceled"):
            store.change("alice", syncing("tiktok", 5))


def test_an_unreachable_database_is_store_unavailable() -> None:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="x",
        aws_secret_access_key="x",  # noqa: S106 - nothing listens there
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    store = make_store(client)

    with pytest.raises(StoreUnavailable):
        store.get("alice")
    with pytest.raises(StoreUnavailable):
        store.change("alice", syncing("tiktok", 5))
