"""Growth history, sync-all, the cooldown, idempotent retries and the ProfileStatsSynced event,
over real HTTP against the local stack (DynamoDB Local behind it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.helpers import all_at_once, assert_aggregates_match_breakdown
from tests.integration.stack import LocalStack

SYNC = "/api/v1/profiles/social-sync"
HISTORY = "/api/v1/profiles/me/stats/history"
PROFILE = "/api/v1/profiles/me"


def test_the_cooldown_holds_under_ten_simultaneous_requests(
    extra_api: Callable[[dict[str, str]], LocalStack], user: str
) -> None:
    # Given an API whose functions keep 60 seconds between two syncs of a platform
    api = extra_api({"SYNC_COOLDOWN_SECONDS": "60"})
    token = api.token(user)

    # When ten syncs of TikTok arrive at the same moment, each with its own number
    replies = all_at_once(
        10, lambda i: api.request("POST", f"{SYNC}/tiktok", {"followers": 100 + i}, token=token)
    )

    # Then exactly one lands, the others are told when to come back, and the stored number is the winner's
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [200] + [429] * 9, [reply.body[:200] for reply in replies]
    winner = next(reply for reply in replies if reply.status == 200).json()["profile"]
    for refused in (reply for reply in replies if reply.status == 429):
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["success"] is False
    stored = api.request("GET", PROFILE, token=token).json()["profile"]
    assert stored["stats"]["platformBreakdown"]["tiktok"] == winner["stats"]["platformBreakdown"]["tiktok"]
    points = api.request("GET", f"{HISTORY}?platform=tiktok", token=token).json()["history"]
    assert len(points) == 1


def test_a_retried_sync_with_the_same_idempotency_key_writes_once(stack: LocalStack, user: str) -> None:
    token = stack.token(user)
    key = {"Idempotency-Key": f"retry-{user}"}

    # When the app retries the same sync with the same key (say, after a dropped connection)
    first = stack.request("POST", f"{SYNC}/twitch", {"followers": 500}, token=token, headers=key)
    retry = stack.request("POST", f"{SYNC}/twitch", {"followers": 500}, token=token, headers=key)
    # and then reuses the key for a different body
    misuse = stack.request("POST", f"{SYNC}/twitch", {"followers": 900}, token=token, headers=key)

    # Then the retry gets the first answer back, the data point exists once, and the misuse is 422
    assert (first.status, retry.status, misuse.status) == (200, 200, 422)
    assert retry.json() == first.json()
    history = stack.request("GET", HISTORY, token=token).json()["history"]
    assert [point["followers"] for point in history] == [500]


def test_simultaneous_retries_with_one_key_write_once(stack: LocalStack, user: str) -> None:
    # Given five requests under one Idempotency-Key
    token = stack.token(user)
    key = {"Idempotency-Key": f"burst-{user}"}

    # When they are sent at once
    replies = all_at_once(
        5, lambda _: stack.request("POST", f"{SYNC}/tiktok", {"followers": 42}, token=token, headers=key)
    )

    # The first one runs; any that arrive while it runs are told so (409) and none writes again.
    assert {reply.status for reply in replies} <= {200, 409}
    assert 200 in {reply.status for reply in replies}
    history = stack.request("GET", HISTORY, token=token).json()["history"]
    assert len(history) == 1


def test_sync_all_is_atomic_and_history_tracks_every_platform(stack: LocalStack, user: str) -> None:
    token = stack.token(user)

    # A batch with one invalid entry changes nothing
    bad = stack.request(
        "POST", SYNC, {"platforms": {"tiktok": {"followers": 10}, "twitch": {"followers": -1}}}, token=token
    )
    assert bad.status == 400
    assert bad.json()["errors"] == [{"field": "platforms.twitch.followers", "message": "must be at least 0"}]
    assert stack.request("GET", PROFILE, token=token).status == 404

    # A valid batch lands every platform in one write
    body: dict[str, Any] = {
        "platforms": {
            "tiktok": {"followers": 1000, "engagement": 7.5},
            "twitch": {"followers": 300, "engagement": 2.0},
            "instagram": {"followers": 700},
        }
    }
    good = stack.request("POST", SYNC, body, token=token)
    assert good.status == 200, good.body
    assert good.json()["message"] == "Social media synced successfully"
    profile = good.json()["profile"]
    assert set(profile["stats"]["platformBreakdown"]) == {"tiktok", "twitch", "instagram"}
    assert profile["stats"]["totalFollowers"] == 2000
    assert_aggregates_match_breakdown(profile)

    # Then a later TikTok sync shows up as growth
    assert stack.request("POST", f"{SYNC}/tiktok", {"followers": 1100}, token=token).status == 200
    page = stack.request("GET", f"{HISTORY}?limit=2", token=token).json()
    assert len(page["history"]) == 2
    assert "nextCursor" in page
    rest = stack.request("GET", f"{HISTORY}?limit=2&cursor={page['nextCursor']}", token=token).json()
    every = page["history"] + rest["history"]
    assert [point["platform"] for point in every][-1] == "tiktok"
    assert sorted(point["platform"] for point in every) == ["instagram", "tiktok", "tiktok", "twitch"]
    assert page["growth"]["tiktok"]["followersChange"] == 100
    assert page["growth"]["tiktok"]["followersChangePercent"] == 10.0

    # And other users see none of it
    assert stack.request("GET", HISTORY, token=stack.token(f"{user}-other")).json()["history"] == []


def test_a_successful_sync_publishes_profile_stats_synced(stack: LocalStack, user: str) -> None:
    reply = stack.request("POST", f"{SYNC}/instagram", {"followers": 77}, token=stack.token(user))
    assert reply.status == 200

    # The local stack answers EventBridge itself and logs each event it is given.
    published = [line for line in stack.log().splitlines() if "ProfileStatsSynced" in line and user in line]
    assert len(published) == 1
    assert '"platforms": ["instagram"]' in published[0]
    assert '"totalFollowers": 77' in published[0]
