"""Where each item lives: the keys of the profiles table, in one place.

Partition USER#<id> holds everything of one user:
- PROFILE: the profile (the SyncDue index's keys, syncShard and syncDispatchAt, while it is scheduled);
- HISTORY#<platform>#<time>#<version>: its data points (`historyAt`, the HistoryByTime index's key,
  orders every platform's points by time);
- FETCH#<platform>: the reservation of the user's next fetch of a platform (its cooldown);
- VERIFY#CODE#<platform>#<handle> and VERIFY#LIMIT#<kind>: verification codes and attempt counters.
Beside them, HANDLE#<platform>#<handle> / OWNER is who holds a verified account. Handles in keys are
lower-case without @ (models.handle_key).

The fetch-state table has one key, `key`, and a TTL, `expiresAt`: plan#<vendor> is a vendor plan's
slot sequence (data.quota_slots), window#<platform>#<n> a platform's request window and
quota#youtube#<day> YouTube's daily units (rapidapi, youtube), fetch#<platform>#<handle> a cached
/social/fetch answer (social_fetch).
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any

from social_sync.models import format_timestamp

PROFILE_SK = "PROFILE"
HISTORY_PREFIX = "HISTORY#"
FETCH_PREFIX = "FETCH#"
OWNER_SK = "OWNER"
HISTORY_BY_TIME = "HistoryByTime"
SYNC_DUE_INDEX = "SyncDue"
# Spreads the due profiles over several index partitions so no single one runs hot; changing it
# needs every scheduled profile rewritten, so it is a constant, not a setting.
SYNC_SHARDS = 8

Key = dict[str, Any]


def user_key(user_id: str) -> str:
    return f"USER#{user_id}"


def user_of(partition: str) -> str:
    """The user id in a USER#<id> partition key."""
    return partition.removeprefix(user_key(""))


def sync_shard(user_id: str) -> str:
    """The SyncDue index partition of a user's profile: stable across processes (unlike hash())."""
    return str(zlib.crc32(user_id.encode()) % SYNC_SHARDS)


def key(pk: str, sk: str) -> Key:
    """A primary key as DynamoDB's API takes it."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def profile_key(user_id: str) -> Key:
    return key(user_key(user_id), PROFILE_SK)


def history_sort_key(platform: str, at: str) -> str:
    """The sort key of a platform's data points at (or, with "~", up to) the timestamp text `at`."""
    return f"{HISTORY_PREFIX}{platform}#{at}"


def history_keys(user_id: str, platform: str, at: str, version: int) -> dict[str, str]:
    """A data point's keys: the profile version makes them unique even for two syncs in one millisecond."""
    return {
        "pk": user_key(user_id),
        "sk": history_sort_key(platform, f"{at}#{version:012d}"),
        "historyAt": f"{at}#{platform}#{version:012d}",
    }


def fetch_key(user_id: str, platform: str) -> Key:
    return key(user_key(user_id), FETCH_PREFIX + platform)


def code_key(user_id: str, platform: str, handle_key: str) -> Key:
    return key(user_key(user_id), f"VERIFY#CODE#{platform}#{handle_key}")


def limit_key(user_id: str, kind: str) -> Key:
    return key(user_key(user_id), f"VERIFY#LIMIT#{kind}")


def owner_key(platform: str, handle_key: str) -> Key:
    return key(f"HANDLE#{platform}#{handle_key}", OWNER_SK)


def plan_key(vendor: str) -> Key:
    """A vendor plan's slot sequence, in the fetch-state table."""
    return {"key": {"S": f"plan#{vendor}"}}


def timestamp(moment: datetime) -> dict[str, str]:
    """A time as a string attribute, in the sortable form every key and condition uses."""
    return {"S": format_timestamp(moment)}
