"""RapidAPI end to end: `make sync-now` and sync by handle over the local stack, against a fake on 127.0.0.1.

The fake replays the recorded payloads, fails one account on purpose, and notes when every
request came, so the test can check that the worker kept under its share of the plan's rate.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

from tests.fake_rapidapi import FakeRapidApi, Reply
from tests.helpers import PLAN_RATE, sync_now
from tests.integration.stack import LocalStack

PROFILE = "/api/v1/profiles/me"
SYNC = "/api/v1/profiles/social-sync"
# More profiles measure throughput better; the default keeps `make test` quick.
PROFILES = int(os.environ.get("SCHEDULED_SYNC_PROFILES", "12"))
RECORDED = {"tiktok": "charlidamelio", "twitch": "ninja", "instagram": "nasa"}


def test_a_scheduled_run_refreshes_every_due_profile_within_the_rate_cap(
    stack: LocalStack, rapidapi: tuple[FakeRapidApi, str]
) -> None:
    fake, url = rapidapi
    run = uuid.uuid4().hex[:8]
    # Given creators with autoSync on and three linked accounts each (handles unique to this run)
    users = [f"scheduled-{run}-{n}" for n in range(PROFILES)]
    handles = {
        user: {platform: f"{platform[:2]}{run}{n}" for platform in RECORDED} for n, user in enumerate(users)
    }
    for user in users:
        for platform, handle in handles[user].items():
            fake.alias(platform, handle, RECORDED[platform])
        reply = stack.request(
            "PUT",
            PROFILE,
            {"linkedAccounts": handles[user], "syncSettings": {"autoSync": True, "frequency": "daily"}},
            token=stack.token(user),
        )
        assert reply.status == 200, reply.body
    # And RapidAPI failing for the first one's Instagram account
    broken = users[0]
    fake.always("instagram", handles[broken]["instagram"], Reply(503, b"", {"retry-after": "0"}))

    # When the scheduled sync runs once
    summary = sync_now(stack, url)

    # Then every profile was dispatched (the stack may hold other tests' scheduled profiles too),
    # and of ours only the broken one is handed back for retry
    assert summary["dispatched"] >= PROFILES
    assert [user for user in summary["failed"] if user in set(users)] == [broken]

    # And the broken profile has its two other platforms refreshed, and nothing else
    profile = stack.request("GET", PROFILE, token=stack.token(broken)).json()["profile"]
    breakdown = profile["stats"]["platformBreakdown"]
    assert sorted(breakdown) == ["tiktok", "twitch"]
    assert {entry["source"] for entry in breakdown.values()} == {"rapidapi"}
    assert profile["linkedAccounts"] == handles[broken]
    # And every other profile has all three, with RapidAPI's numbers
    for user in users[1:]:
        stats = stack.request("GET", PROFILE, token=stack.token(user)).json()["profile"]["stats"]
        assert {platform: entry["followers"] for platform, entry in stats["platformBreakdown"].items()} == {
            "tiktok": 156_183_422,
            "twitch": 19_234_501,
            "instagram": 97_654_321,
        }

    # And each account was asked for once; the broken one as often as the worker's retry policy allows
    for user in users:
        for platform, handle in handles[user].items():
            expected = 5 if (user, platform) == (broken, "instagram") else 1
            assert fake.count(platform, handle) == expected, (user, platform)

    # And no second ever saw more requests than the plan
    assert fake.busiest_second() <= PLAN_RATE
    times = sorted(request.at for request in fake.requests)
    span = times[-1] - times[0]
    rate = (len(times) - 1) / span
    per_minute = PROFILES / summary["seconds"] * 60
    print(
        f"\nscheduled sync: {PROFILES} profiles, {len(times)} requests in {summary['seconds']:.2f} s;"
        f" {per_minute:.0f} profiles/min; {rate:.2f} requests/s = {rate / PLAN_RATE:.0%} of the"
        f" {PLAN_RATE:g}/s plan"
    )
    assert rate <= PLAN_RATE * 1.05


def test_sync_by_handle_over_the_local_api_stores_what_rapidapi_reports(
    extra_api: Callable[[dict[str, str]], LocalStack], rapidapi: tuple[FakeRapidApi, str], user: str
) -> None:
    # Given the local API pointed at the fake RapidAPI, and RapidAPI failing for one TikTok handle
    fake, url = rapidapi
    api = extra_api(
        {"SYNC_COOLDOWN_SECONDS": "0", "RAPIDAPI_BASE_URL": url, "RAPIDAPI_KEY": "local-fake-key"}
    )
    token = api.token(user)
    fake.always("tiktok", "charlidamelio", Reply(503, b"", {"retry-after": "0"}))

    # When the creator syncs Twitch by handle
    reply = api.request("POST", f"{SYNC}/twitch", {"usernameOrId": "@ninja"}, token=token)

    # Then the numbers are the ones RapidAPI reported, and the handle is linked
    assert reply.status == 200, reply.body
    profile = reply.json()["profile"]
    assert profile["stats"]["platformBreakdown"]["twitch"]["followers"] == 19_234_501
    assert profile["stats"]["platformBreakdown"]["twitch"]["source"] == "rapidapi"
    assert profile["linkedAccounts"] == {"twitch": "ninja"}
    assert [(request.handle, request.key) for request in fake.requests] == [("ninja", "local-fake-key")]

    # And an unknown account is 404, a failing RapidAPI 502, and neither changes the profile
    assert api.request("POST", f"{SYNC}/twitter", {"usernameOrId": "ghost"}, token=token).status == 404
    assert api.request("POST", f"{SYNC}/tiktok", {"usernameOrId": "charlidamelio"}, token=token).status == 502
    assert api.request("GET", PROFILE, token=token).json()["profile"] == profile
