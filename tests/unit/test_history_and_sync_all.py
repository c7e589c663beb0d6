"""Growth history (GET /profiles/me/stats/history) and "sync all" (POST /profiles/social-sync)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from social_sync import api
from tests.helpers import get_history, history_items, sync_all, synced, table_items

NOV_1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the handlers, so a month of syncs takes no time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(NOV_1)
    monkeypatch.setattr(api, "utc_now", clock)
    return clock


def test_three_syncs_over_a_month_give_three_points_and_the_growth(function: Any, clock: Clock) -> None:
    # Given three TikTok syncs over a month
    for day, followers, engagement in [(0, 1000, 5.0), (14, 1200, 5.5), (29, 1500, 6.25)]:
        clock.now = NOV_1 + timedelta(days=day)
        synced(function, "tiktok", {"followers": followers, "engagement": engagement})
    clock.now = NOV_1 + timedelta(days=30)

    # When the TikTok history is read a day later
    status, body, _ = get_history(function, platform="tiktok")

    # Then it holds the three points in order, and their growth
    assert status == 200
    assert [(p["followers"], p["engagement"]) for p in body["history"]] == [
        (1000, 5.0),
        (1200, 5.5),
        (1500, 6.25),
    ]
    assert [p["syncedAt"][:10] for p in body["history"]] == ["2026-11-01", "2026-11-15", "2026-11-30"]
    assert all(p["source"] == "client" and p["trigger"] == "user" for p in body["history"])
    assert body["growth"] == {
        "tiktok": {
            "pointsFrom": "2026-11-01T09:00:00.000Z",
            "pointsTo": "2026-11-30T09:00:00.000Z",
            "followersFirst": 1000,
            "followersLast": 1500,
            "followersChange": 500,
            "followersChangePercent": 50.0,
            "engagementFirst": 5.0,
            "engagementLast": 6.25,
        }
    }
    assert "nextCursor" not in body


def test_the_window_and_every_platform_in_time_order(function: Any, clock: Clock) -> None:
    # Given five syncs of three platforms, one a day
    for day, platform in enumerate(["tiktok", "twitch", "tiktok", "instagram", "twitch"]):
        clock.now = NOV_1 + timedelta(days=day)
        synced(function, platform, {"followers": 100 + day})

    # When the history of every platform is read for days 2 to 4
    status, body, _ = get_history(function, **{"from": "2026-11-02T00:00:00Z", "to": "2026-11-04T09:00:00Z"})

    # Then it holds those days' points in time order, and each platform's growth
    assert status == 200
    assert [(p["platform"], p["followers"]) for p in body["history"]] == [
        ("twitch", 101),
        ("tiktok", 102),
        ("instagram", 103),
    ]
    assert set(body["growth"]) == {"twitch", "tiktok", "instagram"}
    assert body["growth"]["twitch"]["followersFirst"] == body["growth"]["twitch"]["followersLast"] == 101


def test_pages_follow_the_cursor_without_gaps_or_repeats(function: Any, clock: Clock) -> None:
    # Given seven syncs
    for day in range(7):
        clock.now = NOV_1 + timedelta(days=day)
        synced(function, "tiktok", {"followers": 10 * day})

    # When the history is read three points a page, following the cursor
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3}
    pages = 0
    while True:
        status, body, _ = get_history(function, **params)
        assert status == 200
        pages += 1
        seen += [p["followers"] for p in body["history"]]
        assert body["growth"]["tiktok"]["followersLast"] == 60  # the whole window, on every page
        if "nextCursor" not in body:
            break
        params["cursor"] = body["nextCursor"]

    # Then the pages hold every point once, in order
    assert seen == [0, 10, 20, 30, 40, 50, 60]
    assert pages == 3


def test_a_user_cannot_read_another_users_history_with_a_cursor(function: Any, clock: Clock) -> None:
    # Given a page of alice's history with a cursor to the next
    for day in range(3):
        clock.now = NOV_1 + timedelta(days=day)
        synced(function, "tiktok", {"followers": day}, sub="alice")
    _, page, _ = get_history(function, sub="alice", limit=1)

    # When mallory asks for the next page with alice's cursor
    status, body, _ = get_history(function, sub="mallory", limit=1, cursor=page["nextCursor"])

    # Then it is a 400 naming the cursor
    assert status == 400
    assert body["errors"] == [{"field": "cursor", "message": "is not valid"}]


def test_no_history_is_an_empty_page(function: Any) -> None:
    status, body, _ = get_history(function)
    assert (status, body) == (200, {"success": True, "history": [], "growth": {}})


BAD_QUERIES = {
    "from is not a date": {"from": "last tuesday"},
    "to is not a date": {"to": "2026-13-45"},
    "from after to": {"from": "2026-11-30T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
    "limit zero": {"limit": 0},
    "limit too large": {"limit": 501},
    "limit not a number": {"limit": "ten"},
    "unknown platform": {"platform": "myspace"},
    "unknown parameter": {"userId": "bob"},
    "cursor garbage": {"cursor": "not-a-cursor"},
}


@pytest.mark.parametrize("params", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_bad_history_queries_are_400(function: Any, params: dict[str, Any]) -> None:
    status, body, _ = get_history(function, **params)
    assert status == 400
    assert body["success"] is False
    assert body["errors"]


def test_history_entries_expire_after_the_retention(function: Any, dynamodb: Any, clock: Clock) -> None:
    # When a sync is stored
    synced(function, "tiktok", {"followers": 1})

    # Then its history entry expires after the retention (400 days here)
    [item] = history_items(dynamodb)
    assert int(item["expiresAt"]["N"]) == int((NOV_1 + timedelta(days=400)).timestamp())


def test_sync_all_lands_every_platform_in_one_write(function: Any, dynamodb: Any, clock: Clock) -> None:
    # When two platforms are synced at once
    status, body, _ = sync_all(
        function,
        {"platforms": {"tiktok": {"followers": 1000, "engagement": 7.5}, "twitch": {"followers": 300}}},
    )

    # Then both land, with one history entry each, in the profile's first version
    assert status == 200
    assert body["message"] == "Social media synced successfully"
    stats = body["profile"]["stats"]
    assert set(stats["platformBreakdown"]) == {"tiktok", "twitch"}
    assert stats["totalFollowers"] == 1300
    items = table_items(dynamodb)
    assert sorted(i["sk"]["S"].split("#")[1] for i in items if i["sk"]["S"].startswith("HISTORY#")) == [
        "tiktok",
        "twitch",
    ]
    profile = next(i for i in items if i["sk"]["S"] == "PROFILE")
    assert profile["version"]["N"] == "1"


BAD_BATCHES = {
    "one invalid entry": {"platforms": {"tiktok": {"followers": 10}, "twitch": {"followers": "many"}}},
    "an unknown platform": {"platforms": {"tiktok": {"followers": 10}, "myspace": {"followers": 1}}},
    "no platforms": {"platforms": {}},
    "an empty entry": {"platforms": {"tiktok": {"followers": 10}, "twitch": {}}},
    "platforms missing": {"tiktok": {"followers": 10}},
}


@pytest.mark.parametrize("body", BAD_BATCHES.values(), ids=BAD_BATCHES.keys())
def test_a_batch_with_an_invalid_entry_changes_nothing(function: Any, dynamodb: Any, body: Any) -> None:
    # Given a synced profile
    synced(function, "tiktok", {"followers": 5})
    before = table_items(dynamodb)

    # When a batch with a bad entry is sent
    status, response, _ = sync_all(function, body)

    # Then it is a 400 and the table is as it was
    assert status == 400
    assert response["success"] is False
    assert table_items(dynamodb) == before


def test_the_invalid_entry_is_named(function: Any) -> None:
    _, response, _ = sync_all(function, BAD_BATCHES["one invalid entry"])
    assert response["errors"] == [
        {"field": "platforms.twitch.followers", "message": "must be a whole number"}
    ]


def test_a_batch_with_a_platform_in_cooldown_is_429_and_changes_nothing(
    function: Any, dynamodb: Any, env: pytest.MonkeyPatch, clock: Clock
) -> None:
    # Given a 60 s cooldown and TikTok synced 10 s ago
    env.setenv("SYNC_COOLDOWN_SECONDS", "60")
    synced(function, "tiktok", {"followers": 5})
    before = table_items(dynamodb)
    clock.now += timedelta(seconds=10)

    # When a batch with TikTok in it is sent
    status, response, _ = sync_all(
        function, {"platforms": {"twitch": {"followers": 1}, "tiktok": {"followers": 6}}}
    )

    # Then it is a 429 naming TikTok, and nothing changed
    assert status == 429
    assert "Tiktok" in response["message"]
    assert table_items(dynamodb) == before


# (query, data points expected) for a user with one sync on 2026-11-01
EDGE_WINDOWS = {
    "from in the future": ({"from": "2999-01-01T00:00:00Z"}, 0),
    "to before 1970": ({"to": "1960-01-01T00:00:00Z"}, 0),
    "a year with fewer than four digits": ({"from": "0079-05-24T05:17:14Z"}, 1),
    "an offset far from UTC": ({"platform": "tiktok", "from": "0025-09-14T03:40:39+15:16"}, 1),
}


@pytest.mark.parametrize(("params", "points"), EDGE_WINDOWS.values(), ids=EDGE_WINDOWS.keys())
def test_windows_at_the_edges_of_time_are_answered(
    function: Any, clock: Clock, params: dict[str, Any], points: int
) -> None:
    # Given one sync
    synced(function, "tiktok", {"followers": 1})

    # When a window at the edge of time is read
    status, body, _ = get_history(function, **params)

    # Then it is a page with the points inside it
    assert status == 200
    assert len(body["history"]) == points
