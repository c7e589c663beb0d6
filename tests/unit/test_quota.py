"""The vendor quota shared through DynamoDB (moto): slots, the HTTP routes' ceiling, Retry-After."""

from __future__ import annotations

from typing import Any

import pytest

from social_sync.data.quota_slots import DynamoQuotaSlots
from social_sync.deadline import Deadline
from social_sync.errors import PlanExhausted
from social_sync.quota import RATE_HEADROOM, SCHEDULE_LEASE, SharedQuota
from tests.fake_rapidapi import FakeClock, FakeRapidApi
from tests.helpers import FETCH_STATE_TABLE_NAME, FakeContext, http_event

# Wall-clock seconds (the quota's slots are epoch times in DynamoDB).
WALL_CLOCK = 1_800_000_000.0


def quota(
    dynamodb: Any, clock: FakeClock, caller: Any, per_second: float = 10, reserve: float = 0.5
) -> SharedQuota:
    return SharedQuota(
        DynamoQuotaSlots(dynamodb, FETCH_STATE_TABLE_NAME),
        "rapidapi",
        requests_per_second=per_second,
        caller=caller,
        schedule_reserve=reserve,
        clock=clock,
        sleep=clock.sleep,
    )


def test_every_container_gets_its_own_evenly_spaced_slot(dynamodb: Any) -> None:
    # Given 30 callers in 3 "containers" (quota objects) asking at the same instant (moto serializes
    # nothing, so they ask in turn here; tests/integration/test_hostile_upstreams.py races them on
    # DynamoDB Local)
    clock = FakeClock(WALL_CLOCK, advance=False)
    containers = [quota(dynamodb, clock, "schedule") for _ in range(3)]
    for n in range(30):
        containers[n % 3].wait(Deadline.within(60))

    # Then each start is its own slot of one sequence at the plan's paced rate: no two share one
    # (each container leases SCHEDULE_LEASE slots at a time, so a few leased ones are left unused)
    interval = 1 / (10 * RATE_HEADROOM)
    starts = [0, *(round(wait / interval, 3) for wait in clock.sleeps)]  # the first started at once
    assert len(starts) == 30
    assert len(set(starts)) == 30
    assert all(start == int(start) for start in starts)
    assert max(starts) < 30 + 3 * SCHEDULE_LEASE


def test_the_http_routes_never_use_the_share_kept_for_the_schedule(dynamodb: Any) -> None:
    # Given half the plan kept for the schedule
    clock = FakeClock(WALL_CLOCK)
    http = quota(dynamodb, clock, "http", reserve=0.5)
    started = clock.now

    # When the HTTP routes send 10 requests as fast as they may
    starts = []
    for _ in range(10):
        http.wait(Deadline(clock.now + 60, clock))
        starts.append(clock.now - started)

    # Then they start at half the plan's paced rate (twice the interval apart)
    interval = 1 / (10 * RATE_HEADROOM)
    assert [round(start / interval, 3) for start in starts] == [2.0 * n for n in range(10)]


def test_the_schedule_uses_what_the_http_routes_leave(dynamodb: Any) -> None:
    # Given the HTTP routes and the schedule on one plan
    clock = FakeClock(WALL_CLOCK, advance=False)
    http, schedule = quota(dynamodb, clock, "http"), quota(dynamodb, clock, "schedule")
    # When an HTTP request takes a slot, then the schedule takes three
    http.wait(Deadline.within(60))
    for _ in range(3):
        schedule.wait(Deadline.within(60))
    # Then the schedule's slots follow the HTTP one back to back on the one sequence.
    interval = 1 / (10 * RATE_HEADROOM)
    assert [round(wait / interval, 3) for wait in clock.sleeps] == [1.0, 2.0, 3.0]


def test_a_slot_after_the_deadline_is_not_taken(dynamodb: Any) -> None:
    # Given a sequence booked 1 s ahead (slots 1 s apart)
    clock = FakeClock(WALL_CLOCK, advance=False)
    schedule = quota(dynamodb, clock, "http", per_second=1 / RATE_HEADROOM, reserve=0)
    schedule.wait(Deadline.within(60))
    schedule.wait(Deadline.within(60))

    # When a caller can wait only half a second, it is refused with a Retry-After
    with pytest.raises(PlanExhausted) as refused:
        schedule.wait(Deadline(clock.now + 0.5, clock))
    assert refused.value.retry_after_seconds >= 1

    # And it took no slot of the plan's sequence: the next caller gets the slot 2 s ahead
    schedule.wait(Deadline.within(60))
    assert clock.sleeps[-1] == pytest.approx(2.0)


def test_a_leased_slot_past_the_deadline_is_kept_for_the_next_caller(dynamodb: Any) -> None:
    # Given a schedule that leased slots ahead
    clock = FakeClock(WALL_CLOCK, advance=False)
    schedule = quota(dynamodb, clock, "schedule", per_second=1 / RATE_HEADROOM)
    schedule.wait(Deadline.within(60))  # leases slots 0..3 s, uses 0
    # When a caller cannot wait for the next slot, then it is refused
    with pytest.raises(PlanExhausted):
        schedule.wait(Deadline(clock.now + 0.5, clock))
    # And the next caller gets that slot, one second on
    schedule.wait(Deadline.within(60))
    assert clock.sleeps == [pytest.approx(1.0)]


def test_a_vendors_retry_after_holds_every_container_off(dynamodb: Any) -> None:
    # Given two containers on one plan
    clock = FakeClock(WALL_CLOCK, advance=False)
    first, other = quota(dynamodb, clock, "schedule"), quota(dynamodb, clock, "http")
    # When the vendor tells one to hold off 3 s, then the other waits them out too
    first.hold_off(3)
    other.wait(Deadline.within(60))
    assert clock.sleeps[-1] == pytest.approx(3.0)


def test_a_reserve_of_the_whole_plan_leaves_the_http_routes_nothing(
    function: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a plan reserved whole for the schedule
    env.setenv("RAPIDAPI_SCHEDULE_RESERVE", "1")
    # When a sync by handle comes over HTTP
    result = function("SyncTikTokFunction").lambda_handler(
        http_event("POST", "/api/v1/profiles/social-sync/tiktok", {"usernameOrId": "charlidamelio"}),
        FakeContext(),
    )
    # Then it is a 429 with Retry-After, and RapidAPI was not asked
    assert result["statusCode"] == 429
    assert int(result["headers"]["Retry-After"]) >= 1
    assert rapidapi.count() == 0


def test_a_failed_fetch_gives_its_reservation_back(
    function: Any, rapidapi: FakeRapidApi, env: pytest.MonkeyPatch
) -> None:
    # Given a 60 s cooldown and a sync by handle of an unknown account
    env.setenv("SYNC_COOLDOWN_SECONDS", "60")
    handler = function("SyncTikTokFunction").lambda_handler
    event = http_event("POST", "/api/v1/profiles/social-sync/tiktok", {"usernameOrId": "ghost"})
    # When it fails, then the same sync is not held back by the cooldown
    assert handler(event, FakeContext())["statusCode"] == 404
    # Not held back by the failed one: it fetches again.
    assert handler(event, FakeContext())["statusCode"] == 404
    assert rapidapi.count() == 2
