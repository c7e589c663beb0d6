"""The storage models: a profile and a data point as items of the profiles table.

They are the wire models plus what is stored but never sent: the keys, the profile's version (which
guards concurrent writes) and its place on the refresh schedule, and a data point's expiry (the
table's TTL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from social_sync.data.attributes import from_attributes, to_attributes
from social_sync.data.keys import PROFILE_SK, history_keys, sync_shard, user_key
from social_sync.models import HistoryEntry, Profile, Timestamp, format_timestamp


class ProfileItem(Profile):
    """A profile as stored (sk PROFILE)."""

    pk: str
    sk: str = PROFILE_SK
    version: int = 0
    sync_due_at: Timestamp | None = None
    # The SyncDue index's keys: present only while the profile is on the refresh schedule, so the
    # index holds the scheduled profiles alone.
    sync_dispatch_at: Timestamp | None = None
    sync_shard: str | None = None

    @classmethod
    def of(cls, profile: Profile) -> ProfileItem:
        scheduled = profile.sync_due_at is not None
        fields = {
            **dict(profile),
            "pk": user_key(profile.user_id),
            # A full put carries the schedule along, or a sync would drop the profile off the index.
            "sync_dispatch_at": (profile.sync_dispatch_at or profile.sync_due_at) if scheduled else None,
            "sync_shard": sync_shard(profile.user_id) if scheduled else None,
        }
        return cls.model_construct(**fields)

    @staticmethod
    def read(attributes: dict[str, Any]) -> Profile:
        """The profile an item holds, its version and schedule included (the keys are left behind)."""
        return Profile.model_validate(from_attributes(attributes))


class HistoryItem(HistoryEntry):
    """A data point as stored (sk HISTORY#...), until `expires_at` (epoch seconds, the table's TTL)."""

    pk: str
    sk: str
    history_at: str
    expires_at: int

    @classmethod
    def of(cls, user_id: str, entry: HistoryEntry, version: int, expires_at: datetime) -> HistoryItem:
        keys = history_keys(user_id, entry.platform, format_timestamp(entry.synced_at), version)
        fields = {
            **dict(entry),
            "pk": keys["pk"],
            "sk": keys["sk"],
            "history_at": keys["historyAt"],
            "expires_at": int(expires_at.timestamp()),
        }
        return cls.model_construct(**fields)

    @staticmethod
    def read(attributes: dict[str, Any]) -> HistoryEntry:
        """The data point an item holds (its keys are left behind: extra fields are ignored)."""
        return HistoryEntry.model_validate(from_attributes(attributes))


def item_attributes(item: ProfileItem | HistoryItem) -> dict[str, Any]:
    """An item as DynamoDB attribute values: every field by its camelCase name, nothing unknown."""
    return to_attributes(item.model_dump(mode="json", by_alias=True, exclude_none=True))
