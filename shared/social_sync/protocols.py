"""What the logic asks of the world, and nothing more: the repositories, the queue, the fetchers.

The logic (social_sync.profiles, .schedule, .verification, .social_fetch, .quota) is written against
these; the data layer (social_sync.data) and the vendors' clients implement them, and the composition
root (social_sync.container) hands the implementations in. Tests hand in fakes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Protocol

from social_sync.models import (
    DueProfile,
    FetchedAccount,
    HistoryEntry,
    Platform,
    Profile,
    ProfileChange,
    SocialFetchData,
    Source,
    VerificationCode,
    VerificationState,
    VerificationWrite,
)


class Profiles(Protocol):
    """Where profiles live (social_sync.data.profiles)."""

    def get(self, user_id: str) -> Profile | None: ...

    def change(self, user_id: str, change: ProfileChange) -> Profile:
        """Apply `change` to the current profile and save it with its history atomically, retrying races."""
        ...

    def update_fields(
        self,
        user_id: str,
        fields: dict[str, object],
        now: datetime,
        *,
        schedule_from: datetime | None = None,
        unschedule: bool = False,
        expected_version: int | None = None,
    ) -> Profile:
        """Set top-level fields; `schedule_from` puts the profile on the refresh schedule (due then, unless
        it already is on it), `unschedule` takes it off. With `expected_version`, only if the profile is
        still at that version (else ConcurrentUpdateConflict)."""
        ...


class FetchReservations(Protocol):
    """A user's next fetch of a platform, held for its cooldown (social_sync.data.reservations)."""

    def reserve_fetch(self, user_id: str, platform: str, now: datetime, until: datetime) -> datetime | None:
        """Reserve a fetch until `until` (one conditional write); None, or when another's reservation ends."""
        ...

    def release_fetch(self, user_id: str, platform: str, until: datetime) -> None: ...


class History(Protocol):
    """A user's data points (social_sync.data.history)."""

    def history(
        self,
        user_id: str,
        platform: str | None,
        start: datetime,
        end: datetime,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[HistoryEntry], str | None]:
        """A page of data points in [start, end] in time order, and the cursor of the next page."""
        ...

    def history_bounds(
        self, user_id: str, platform: str, start: datetime, end: datetime
    ) -> tuple[HistoryEntry, HistoryEntry] | None:
        """A platform's first and last data points in [start, end], or None when it has none there."""
        ...


class ScheduleIndex(Protocol):
    """The scheduled profiles, as the dispatcher reads and claims them (social_sync.data.schedule_index)."""

    def due_profiles(self, now: datetime) -> Iterator[DueProfile]: ...

    def claim_for_dispatch(self, user_id: str, seen: datetime, until: datetime) -> bool: ...


class RefreshQueue(Protocol):
    """Where the dispatcher sends the user ids to refresh (SQS in AWS, a list in `make sync-now`)."""

    def send(self, user_ids: list[str]) -> None: ...


class VerificationStore(Protocol):
    """Where codes, attempt counters and account holders live (social_sync.data.verifications)."""

    def put_code(self, user_id: str, platform: str, handle_key: str, code: VerificationCode) -> None: ...

    def get_code(self, user_id: str, platform: str, handle_key: str) -> VerificationCode | None: ...

    def count_attempt(
        self, user_id: str, kind: str, window_start: datetime, window_end: datetime, limit: int
    ) -> bool: ...

    def verify(
        self,
        user_id: str,
        platform: str,
        code_handle_key: str,
        account_handle_key: str,
        change: Callable[[VerificationState], VerificationWrite],
    ) -> Profile: ...


class FetchCache(Protocol):
    """Where /social/fetch's answers are kept for a while (social_sync.data.fetch_state)."""

    def cached_numbers(self, key: str, now: int) -> SocialFetchData | None: ...

    def cache_numbers(self, key: str, numbers: SocialFetchData, expires_at: int) -> None: ...


class QuotaCounter(Protocol):
    """Counters every container draws on: a platform's request window, YouTube's units of a day
    (social_sync.data.fetch_state)."""

    def spend_units(self, counter: str, units: int, limit: int, expires_at: int) -> bool:
        """Add `units` to `counter` unless that would pass `limit`; whether they were added."""
        ...


class SlotStore(Protocol):
    """Where a vendor plan's start-slot sequences live (social_sync.data.quota_slots)."""

    def take_slot(self, name: str, now: float, interval: float, latest: float) -> float | None: ...

    def hold_off(self, name: str, until: float) -> None: ...


class AccountFetcher(Protocol):
    """Fetches a platform account by handle (social_sync.rapidapi.RapidApiClient.fetch_account)."""

    def __call__(self, platform: Platform, handle: str) -> FetchedAccount: ...


class StatsPublisher(Protocol):
    """Tells the rest of the system that a profile's stats changed (social_sync.notifications)."""

    def stats_synced(self, profile: Profile, platforms: Iterable[str], source: Source) -> None: ...
