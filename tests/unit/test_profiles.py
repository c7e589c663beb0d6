"""Profile logic: merging a platform's numbers, the aggregate invariant over any syncs, the cooldown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from social_sync.errors import SyncTooSoon
from social_sync.models import MAX_FOLLOWERS, PLATFORMS, HistoryEntry, PlatformReading, Profile, utc_now
from social_sync.profiles import apply_sync, compute_stats

START = utc_now()

readings = st.builds(
    PlatformReading,
    followers=st.integers(min_value=0, max_value=MAX_FOLLOWERS) | st.none(),
    engagement=st.floats(min_value=0, max_value=100, allow_nan=False) | st.none(),
    source=st.sampled_from(["client", "rapidapi"]),
)
syncs = st.lists(st.tuples(st.sampled_from(PLATFORMS), readings), min_size=1, max_size=30)


def apply_reading(
    profile: Profile | None, platform: str, reading: PlatformReading, seconds: int = 0, cooldown: int = 0
) -> tuple[Profile, HistoryEntry]:
    """alice's profile after one platform's reading, `seconds` after START (the logic alone, no store)."""
    return apply_sync(
        profile,
        "alice",
        platform,
        reading,
        now=START + timedelta(seconds=seconds),
        trigger="user",
        mode="weighted",
        cooldown_seconds=cooldown,
    )


def test_a_first_sync_creates_the_profile_with_that_platform() -> None:
    profile, point = apply_reading(
        None, "tiktok", PlatformReading(followers=1000, engagement=7.5, source="client")
    )

    assert profile.user_id == "alice"
    assert profile.created_at == profile.updated_at == START
    assert profile.stats.total_followers == 1000
    assert profile.stats.avg_engagement == 7.5
    tiktok = profile.stats.platform_breakdown["tiktok"]
    assert (tiktok.followers, tiktok.engagement, tiktok.source, tiktok.last_synced_at) == (
        1000,
        7.5,
        "client",
        START,
    )
    assert (point.platform, point.followers, point.engagement, point.trigger) == ("tiktok", 1000, 7.5, "user")


def test_a_left_out_field_keeps_the_stored_value() -> None:
    # Given both numbers synced
    profile, _ = apply_reading(
        None, "twitch", PlatformReading(followers=300, engagement=4.0, source="client")
    )
    # When followers only, then engagement only, are synced
    profile, _ = apply_reading(profile, "twitch", PlatformReading(followers=350, source="client"), seconds=5)
    profile, _ = apply_reading(
        profile, "twitch", PlatformReading(engagement=5.5, source="client"), seconds=10
    )

    # Then each kept the other's stored value, and updatedAt moved
    twitch = profile.stats.platform_breakdown["twitch"]
    assert (twitch.followers, twitch.engagement) == (350, 5.5)
    assert profile.updated_at == START + timedelta(seconds=10)
    assert profile.created_at == START


def test_other_platforms_are_left_as_they_were() -> None:
    # Given TikTok synced
    profile, _ = apply_reading(None, "tiktok", PlatformReading(followers=10, engagement=1.0, source="client"))
    tiktok_before = profile.stats.platform_breakdown["tiktok"]
    # When Twitter is synced
    profile, _ = apply_reading(
        profile, "twitter", PlatformReading(followers=30, source="rapidapi"), seconds=1
    )

    # Then TikTok is as it was, and the totals add both
    assert profile.stats.platform_breakdown["tiktok"] == tiktok_before
    assert profile.stats.total_followers == 40


def test_a_sync_inside_the_cooldown_is_refused_with_the_seconds_left() -> None:
    # Given a TikTok sync under a 60 s cooldown
    profile, _ = apply_reading(None, "tiktok", PlatformReading(followers=1, source="client"), cooldown=60)

    # When TikTok is synced again 15 s later, then it is refused with the seconds left
    with pytest.raises(SyncTooSoon) as refused:
        apply_reading(
            profile, "tiktok", PlatformReading(followers=2, source="client"), seconds=15, cooldown=60
        )
    assert refused.value.retry_after_seconds == 45

    # Another platform is not held back, and the same one is free once the cooldown is over.
    apply_reading(profile, "twitch", PlatformReading(followers=2, source="client"), seconds=15, cooldown=60)
    later, _ = apply_reading(
        profile, "tiktok", PlatformReading(followers=2, source="client"), seconds=60, cooldown=60
    )
    assert later.stats.total_followers == 2


@given(syncs)
def test_the_aggregates_always_equal_the_functions_of_the_breakdown(
    steps: list[tuple[str, PlatformReading]],
) -> None:
    profile: Profile | None = None
    expected: dict[str, tuple[int | None, float | None]] = {}
    for i, (platform, reading) in enumerate(steps):
        profile, point = apply_reading(profile, platform, reading, seconds=i)
        old_followers, old_engagement = expected.get(platform, (None, None))
        expected[platform] = (
            reading.followers if reading.followers is not None else old_followers,
            reading.engagement if reading.engagement is not None else old_engagement,
        )
        assert profile.stats == compute_stats(profile.stats.platform_breakdown, "weighted")
        assert (point.followers, point.engagement) == expected[platform]
    assert profile is not None
    assert {p: (e.followers, e.engagement) for p, e in profile.stats.platform_breakdown.items()} == expected
