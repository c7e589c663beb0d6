"""In-memory stand-ins for the repositories (social_sync.protocols), for tests of the logic alone.

They keep what the DynamoDB repositories keep, the way the logic sees it, and no more: the data
layer's own behaviour (conditions, transactions, indexes) is tested over DynamoDB in its own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from social_sync.models import DueProfile, HistoryEntry, Profile, ProfileChange


@dataclass
class InMemoryProfiles:
    """Profiles (and their history) in a dict; every write bumps the version, as DynamoDB's does."""

    profiles: dict[str, Profile] = field(default_factory=dict)
    history: list[tuple[str, HistoryEntry]] = field(default_factory=list)

    def get(self, user_id: str) -> Profile | None:
        return self.profiles.get(user_id)

    def change(self, user_id: str, change: ProfileChange) -> Profile:
        current = self.profiles.get(user_id)
        updated, points = change(current)
        saved = updated.model_copy(update={"version": (current.version if current else 0) + 1})
        self.profiles[user_id] = saved
        self.history += [(user_id, point) for point in points]
        return saved

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
        raise NotImplementedError("the schedule's logic never sets fields")

    def put(self, profile: Profile) -> Profile:
        """Store `profile` as it is (a test's given state)."""
        self.profiles[profile.user_id] = profile
        return profile


@dataclass
class InMemoryScheduleIndex:
    """The SyncDue index as a dict of dispatch times: a claim moves one on if it is still the one seen."""

    dispatch_at: dict[str, datetime] = field(default_factory=dict)

    def due_profiles(self, now: datetime) -> Iterator[DueProfile]:
        for user_id, at in sorted(self.dispatch_at.items()):
            if at <= now:
                yield DueProfile(user_id=user_id, dispatch_at=at)

    def claim_for_dispatch(self, user_id: str, seen: datetime, until: datetime) -> bool:
        if self.dispatch_at.get(user_id) != seen:
            return False
        self.dispatch_at[user_id] = until
        return True


@dataclass
class RecordingQueue:
    """A RefreshQueue that keeps every batch it is sent."""

    batches: list[list[str]] = field(default_factory=list)

    def send(self, user_ids: list[str]) -> None:
        self.batches.append(list(user_ids))

    @property
    def sent(self) -> list[str]:
        return [user for batch in self.batches for user in batch]
