"""The scheduled sync's logic alone (social_sync.schedule), over in-memory repositories: which profiles
go out, and what refreshing one does. The index over DynamoDB is tested in test_schedule_index.py, the
two functions in test_schedule_functions.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from social_sync.errors import AccountNotFound, QuotaExhausted, RapidApiUnavailable
from social_sync.models import FetchedAccount, Platform, PlatformStats, Profile, ProfileStats
from social_sync.profiles import SYNC_PERIODS, next_due_at
from social_sync.schedule import QUEUE_BATCH, RefreshIncomplete, dispatch_due_profiles, refresh_profile
from social_sync.settings import Settings
from tests.fakes import InMemoryProfiles, InMemoryScheduleIndex, RecordingQueue

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
SETTINGS = Settings(table_name="unit", sync_cooldown_seconds=60)


def clock() -> datetime:
    return NOW


class Accounts:
    """An AccountFetcher answering from a dict: an account, or the error its fetch ends in."""

    def __init__(self, **answers: int | Exception) -> None:
        self.answers = answers
        self.asked: list[Platform] = []

    def __call__(self, platform: Platform, handle: str) -> FetchedAccount:
        self.asked.append(platform)
        answer = self.answers[platform]
        if isinstance(answer, Exception):
            raise answer
        return FetchedAccount(platform=platform, handle=handle, followers=answer)


def scheduled(
    user_id: str, *, due: datetime = NOW, linked: dict[str, str], synced: dict[str, datetime] | None = None
) -> Profile:
    breakdown = {
        platform: PlatformStats(followers=1, last_synced_at=at, source="rapidapi")
        for platform, at in (synced or {}).items()
    }
    return Profile(
        user_id=user_id,
        linked_accounts=linked,
        sync_settings={"autoSync": True, "frequency": "daily"},
        stats=ProfileStats(platform_breakdown=breakdown),
        created_at=NOW - timedelta(days=30),
        updated_at=NOW - timedelta(days=1),
        sync_due_at=due,
        sync_dispatch_at=due,
    )


# --- The schedule.


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


# --- Dispatching.


def test_due_profiles_are_claimed_and_sent_in_batches_of_at_most_ten() -> None:
    # Given 23 due profiles and one due tomorrow
    index = InMemoryScheduleIndex({f"user-{n:02d}": NOW - timedelta(minutes=n) for n in range(23)})
    index.dispatch_at["later"] = NOW + timedelta(days=1)
    queue = RecordingQueue()

    # When the dispatcher runs
    report = dispatch_due_profiles(index, queue, NOW, claim_seconds=1800)

    # Then the due ones went out, in batches of at most QUEUE_BATCH, and the lag is the oldest one's
    assert sorted(queue.sent) == sorted(f"user-{n:02d}" for n in range(23))
    assert [len(batch) for batch in queue.batches] == [QUEUE_BATCH, QUEUE_BATCH, 3]
    assert (report.due, report.oldest_due) == (23, NOW - timedelta(minutes=22))


def test_a_claimed_profile_is_not_sent_again_until_its_claim_runs_out() -> None:
    index = InMemoryScheduleIndex({"alice": NOW})

    first = dispatch_due_profiles(index, RecordingQueue(), NOW, claim_seconds=1800)
    again = dispatch_due_profiles(index, RecordingQueue(), NOW + timedelta(minutes=15), claim_seconds=1800)
    expired = dispatch_due_profiles(index, RecordingQueue(), NOW + timedelta(minutes=31), claim_seconds=1800)

    assert (first.sent, again.sent, expired.sent) == (["alice"], [], ["alice"])


def test_a_profile_that_changed_after_the_index_read_is_skipped_not_sent() -> None:
    # Given an index read that is stale by the time of the claim (another run claimed the profile)
    index = InMemoryScheduleIndex({"alice": NOW})
    seen = list(index.due_profiles(NOW))
    assert index.claim_for_dispatch("alice", NOW, NOW + timedelta(hours=1))

    class StaleIndex:
        def due_profiles(self, now: datetime) -> list:  # type: ignore[type-arg]
            return seen

        claim_for_dispatch = index.claim_for_dispatch

    # When the dispatcher runs on it, then the profile is skipped
    report = dispatch_due_profiles(StaleIndex(), RecordingQueue(), NOW, claim_seconds=1800)  # type: ignore[arg-type]
    assert (report.sent, report.skipped) == ([], 1)


def test_a_dispatcher_short_of_time_leaves_the_rest_for_the_next_tick() -> None:
    index = InMemoryScheduleIndex({"a": NOW, "b": NOW})

    report = dispatch_due_profiles(index, RecordingQueue(), NOW, claim_seconds=60, time_left=lambda: 5.0)

    assert (report.sent, report.deferred) == ([], True)
    assert index.dispatch_at == {"a": NOW, "b": NOW}


# --- Refreshing one profile.


def test_one_failing_platform_leaves_the_others_saved_and_the_profile_due() -> None:
    # Given a due profile with two linked accounts, one of whose vendors fails
    profiles = InMemoryProfiles()
    profiles.put(scheduled("alice", linked={"tiktok": "charli", "twitch": "ninja"}))
    fetch = Accounts(tiktok=RapidApiUnavailable("down"), twitch=500)

    # When it is refreshed
    with pytest.raises(RefreshIncomplete) as failed:
        refresh_profile(profiles, SETTINGS, fetch, "alice", clock)

    # Then the other platform is saved, and the due time stays for the retry
    report = failed.value.report
    assert (report.refreshed, sorted(report.failed)) == (["twitch"], ["tiktok"])
    saved = profiles.get("alice")
    assert saved is not None
    assert saved.stats.platform_breakdown["twitch"].followers == 500
    assert saved.sync_due_at == NOW
    assert [point.trigger for _, point in profiles.history] == ["schedule"]


def test_a_complete_refresh_moves_the_due_time_on_by_the_frequency() -> None:
    profiles = InMemoryProfiles()
    profiles.put(scheduled("alice", linked={"tiktok": "charli"}))

    report = refresh_profile(profiles, SETTINGS, Accounts(tiktok=10), "alice", clock)

    assert report.refreshed == ["tiktok"]
    assert report.rescheduled_to == NOW + timedelta(days=1)


def test_a_gone_account_does_not_hold_the_schedule_back_but_a_spent_quota_does() -> None:
    profiles = InMemoryProfiles()
    profiles.put(scheduled("gone", linked={"tiktok": "ghost"}))
    profiles.put(scheduled("limited", linked={"youtube": "mkbhd"}))

    gone = refresh_profile(profiles, SETTINGS, Accounts(tiktok=AccountNotFound("no")), "gone", clock)
    limited = refresh_profile(
        profiles, SETTINGS, Accounts(youtube=QuotaExhausted("spent", 60)), "limited", clock
    )

    assert (gone.not_found, gone.rescheduled_to) == (["tiktok"], NOW + timedelta(days=1))
    assert (limited.limited, limited.rescheduled_to) == (["youtube"], None)
    assert profiles.get("limited").sync_due_at == NOW  # type: ignore[union-attr]


def test_a_platform_synced_inside_the_cooldown_or_this_round_is_not_fetched() -> None:
    profiles = InMemoryProfiles()
    profiles.put(
        scheduled(
            "alice",
            due=NOW - timedelta(hours=1),
            linked={"tiktok": "charli", "twitch": "ninja"},
            # TikTok synced after the round's due time, Twitch just now by the user.
            synced={"tiktok": NOW - timedelta(minutes=30), "twitch": NOW - timedelta(seconds=10)},
        )
    )
    fetch = Accounts()

    report = refresh_profile(profiles, SETTINGS, fetch, "alice", clock)

    assert (fetch.asked, sorted(report.fresh)) == ([], ["tiktok", "twitch"])
    assert report.rescheduled_to == NOW - timedelta(hours=1) + timedelta(days=1)


@pytest.mark.parametrize("due", [None, NOW + timedelta(minutes=1)], ids=["auto-sync off", "not due yet"])
def test_a_profile_not_due_is_skipped_without_a_fetch(due: datetime | None) -> None:
    profiles = InMemoryProfiles()
    profiles.put(scheduled("alice", linked={"tiktok": "charli"}).model_copy(update={"sync_due_at": due}))
    fetch = Accounts()

    report = refresh_profile(profiles, SETTINGS, fetch, "alice", clock)

    assert (report.skipped, fetch.asked, profiles.history) == (True, [], [])
