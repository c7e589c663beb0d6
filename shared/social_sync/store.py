"""The only module that talks to DynamoDB.

One table: a user's profile (sk PROFILE) and their history (sk HISTORY#<platform>#<time>#<version>)
share the partition key USER#<id>. Every profile write is conditional on the version
it read (optimistic concurrency) and lands in one transaction with its history entries.
Numbers cross the boundary as Decimal, so nothing drifts through binary floats.

A profile on the refresh schedule also carries syncShard and syncDispatchAt, the keys of the
sparse SyncDue index: the scheduled sync finds due profiles with one Query per shard, never a scan.
"""

from __future__ import annotations

import base64
import json
import random
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from social_sync.errors import ConcurrentUpdateConflict, FieldError, InvalidRequest, StoreUnavailable
from social_sync.models import HistoryEntry, Profile, ProfileStats, SocialFetchData, format_timestamp
from social_sync.profiles import ProfileChange

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

    from social_sync.schedule import DueProfile

PROFILE_SK = "PROFILE"
HISTORY_PREFIX = "HISTORY#"
# A fetch by handle reserved (the platform's cooldown) for a user: sk FETCH#<platform>, beside the profile.
FETCH_PREFIX = "FETCH#"
HISTORY_BY_TIME = "HistoryByTime"
SYNC_DUE_INDEX = "SyncDue"
# Spreads the due profiles over several index partitions so no single one runs hot; changing it
# needs every scheduled profile rewritten, so it is a constant, not a setting.
SYNC_SHARDS = 8
# Cancellation reasons that mean "someone else wrote first" or "too fast": read again and retry.
_RETRY_REASONS = {
    "ConditionalCheckFailed",
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
}
_RETRYABLE_ERRORS = {
    "TransactionConflictException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}


def user_key(user_id: str) -> str:
    return f"USER#{user_id}"


def sync_shard(user_id: str) -> str:
    """The SyncDue index partition of a user's profile: stable across processes (unlike hash())."""
    return str(zlib.crc32(user_id.encode()) % SYNC_SHARDS)


def to_attributes(data: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready dict as DynamoDB attribute values; floats go through their shortest repr into Decimal."""
    exact = json.loads(json.dumps(data, allow_nan=False), parse_float=Decimal)
    return {name: _attribute(value) for name, value in exact.items()}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as a plain dict (numbers as Decimal, which the models read exactly)."""
    return {name: _value(attribute) for name, attribute in item.items()}


# Written here rather than taken from boto3.dynamodb.types: importing that loads all of boto3, and
# the profile holds JSON only (no sets or binary), so six types are the whole mapping.
def _attribute(value: Any) -> dict[str, Any]:
    # `value` came out of json.loads: None, bool, str, int, Decimal, list or dict.
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_attribute(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {name: _attribute(item) for name, item in value.items()}}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _value(attribute: dict[str, Any]) -> Any:
    ((kind, raw),) = attribute.items()
    if kind == "N":
        return Decimal(raw)
    if kind in ("S", "BOOL"):
        return raw
    if kind == "NULL":
        return None
    if kind == "L":
        return [_value(item) for item in raw]
    if kind == "M":
        return {name: _value(item) for name, item in raw.items()}
    raise ValueError(f"unexpected DynamoDB attribute type {kind} in the profile table")


class DynamoProfileStore:
    """ProfileStore on one DynamoDB table."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        history_retention_days: int,
        write_attempts: int,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._table = table_name
        self._retention = timedelta(days=history_retention_days)
        self._attempts = write_attempts
        self._sleep = sleep

    def get(self, user_id: str) -> Profile | None:
        """The stored profile, read consistently, or None."""
        with translate_errors():
            response = self._client.get_item(
                TableName=self._table,
                Key={"pk": {"S": user_key(user_id)}, "sk": {"S": PROFILE_SK}},
                ConsistentRead=True,
            )
        item = response.get("Item")
        return Profile.model_validate(from_attributes(item)) if item else None

    def change(self, user_id: str, change: ProfileChange) -> Profile:
        """Read, apply `change`, and write the profile and its history in one transaction.

        The write is conditional on the version read; when another writer got there
        first, read again and re-apply, up to `write_attempts` times with jittered
        exponential backoff. Domain errors raised by `change` propagate untouched.
        """
        for attempt in range(self._attempts):
            current = self.get(user_id)
            updated, history = change(current)
            version = (current.version if current else 0) + 1
            saved = updated.model_copy(update={"version": version})
            try:
                with translate_errors():
                    self._client.transact_write_items(
                        TransactItems=self.profile_writes(
                            saved, current.version if current else None, history
                        )
                    )
                return saved
            except ClientError as error:
                if not _is_retryable(error):
                    raise
            self._backoff(attempt)
        raise ConcurrentUpdateConflict("The profile is being changed by several requests at once; try again")

    def history(
        self,
        user_id: str,
        platform: str | None,
        start: datetime,
        end: datetime,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[HistoryEntry], str | None]:
        """Data points in [start, end] in time order from one Query on a key range, and the next cursor.

        One platform reads the table's own key; every platform reads the HistoryByTime index.
        """
        key, low, high = self._history_range(user_id, platform, start, end)
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"pk = :pk AND {key} BETWEEN :low AND :high",
            "ExpressionAttributeValues": {
                ":pk": {"S": user_key(user_id)},
                ":low": {"S": low},
                ":high": {"S": high},
            },
            "Limit": limit,
        }
        if platform is None:
            query["IndexName"] = HISTORY_BY_TIME
        if cursor is not None:
            query["ExclusiveStartKey"] = decode_cursor(cursor, user_id, platform, low, high)
        try:
            with translate_errors():
                response = self._client.query(**query)
        except ClientError as error:
            # A cursor the checks above let through but DynamoDB still refuses is the caller's mistake.
            if cursor is None or error.response.get("Error", {}).get("Code") != "ValidationException":
                raise
            raise _bad_cursor() from error
        entries = [HistoryEntry.model_validate(from_attributes(item)) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return entries, encode_cursor(last) if last else None

    def history_bounds(
        self, user_id: str, platform: str, start: datetime, end: datetime
    ) -> tuple[HistoryEntry, HistoryEntry] | None:
        """A platform's first and last data points in [start, end], or None when it has none there."""
        key, low, high = self._history_range(user_id, platform, start, end)
        points = []
        for forward in (True, False):
            with translate_errors():
                response = self._client.query(
                    TableName=self._table,
                    KeyConditionExpression=f"pk = :pk AND {key} BETWEEN :low AND :high",
                    ExpressionAttributeValues={
                        ":pk": {"S": user_key(user_id)},
                        ":low": {"S": low},
                        ":high": {"S": high},
                    },
                    ScanIndexForward=forward,
                    Limit=1,
                )
            items = response.get("Items", [])
            if not items:
                return None
            points.append(HistoryEntry.model_validate(from_attributes(items[0])))
        return points[0], points[1]

    @staticmethod
    def _history_range(
        user_id: str, platform: str | None, start: datetime, end: datetime
    ) -> tuple[str, str, str]:
        # "~" sorts after every character a key uses, so the range takes in all of `end`'s millisecond.
        low, high = format_timestamp(start), format_timestamp(end) + "~"
        if platform is None:
            return "historyAt", low, high
        return "sk", f"{HISTORY_PREFIX}{platform}#{low}", f"{HISTORY_PREFIX}{platform}#{high}"

    def reserve_fetch(self, user_id: str, platform: str, now: datetime, until: datetime) -> datetime | None:
        """Reserve the user's next fetch of `platform` until `until`, in one conditional write.

        Returns None when reserved, else the end of the reservation someone else holds past `now`.
        """
        key = {"pk": {"S": user_key(user_id)}, "sk": {"S": FETCH_PREFIX + platform}}
        try:
            with translate_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **key,
                        "reservedUntil": {"S": format_timestamp(until)},
                        "expiresAt": {"N": str(int(until.timestamp()) + 1)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR reservedUntil <= :now",
                    ExpressionAttributeValues={":now": {"S": format_timestamp(now)}},
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            with translate_errors():
                held = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            return datetime.fromisoformat(held["reservedUntil"]["S"]) if held else until
        return None

    def release_fetch(self, user_id: str, platform: str, until: datetime) -> None:
        """Give back a reservation made with `until` (its fetch failed, so it stored nothing)."""
        try:
            with translate_errors():
                self._client.delete_item(
                    TableName=self._table,
                    Key={"pk": {"S": user_key(user_id)}, "sk": {"S": FETCH_PREFIX + platform}},
                    ConditionExpression="reservedUntil = :until",
                    ExpressionAttributeValues={":until": {"S": format_timestamp(until)}},
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def update_fields(
        self,
        user_id: str,
        fields: dict[str, Any],
        now: datetime,
        *,
        auto_sync: bool | None = None,
        expected_version: int | None = None,
    ) -> Profile:
        """Set top-level profile fields in one atomic update; creates the profile if there is none.

        `auto_sync` True puts the profile on the refresh schedule, due now unless it already is
        scheduled; False takes it off; None leaves the schedule alone. With `expected_version`
        (0: no profile yet), the update is made only if the profile is still at that version,
        else ConcurrentUpdateConflict.
        """
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = to_attributes({f":f{i}": value for i, value in enumerate(fields.values())})
        values |= to_attributes({":now": format_timestamp(now), ":uid": user_id, ":zero": 0, ":one": 1})
        assignments = [f"{alias} = :f{i}" for i, alias in enumerate(names)] + [
            "userId = :uid",
            "updatedAt = :now",
            "createdAt = if_not_exists(createdAt, :now)",
            "version = if_not_exists(version, :zero) + :one",
        ]
        if "stats" not in fields:  # (stats are given only with the version they were computed from)
            values[":stats"] = to_attributes({"stats": ProfileStats().to_wire()})["stats"]
            assignments.append("stats = if_not_exists(stats, :stats)")
        removals = []
        if auto_sync:
            values[":shard"] = {"S": sync_shard(user_id)}
            assignments += [
                "syncDueAt = if_not_exists(syncDueAt, :now)",
                "syncDispatchAt = if_not_exists(syncDispatchAt, :now)",
                "syncShard = :shard",
            ]
        elif auto_sync is False:
            removals = ["syncDueAt", "syncDispatchAt", "syncShard"]
        expression = "SET " + ", ".join(assignments)
        if removals:
            expression += " REMOVE " + ", ".join(removals)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": user_key(user_id)}, "sk": {"S": PROFILE_SK}},
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
        }
        if expected_version is not None:
            request["ConditionExpression"] = "attribute_not_exists(pk) OR version = :expected"
            values[":expected"] = {"N": str(expected_version)}
        try:
            with translate_errors():
                response = self._client.update_item(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ConcurrentUpdateConflict("The profile changed while it was being updated") from error
            raise
        return Profile.model_validate(from_attributes(response["Attributes"]))

    def profile_writes(
        self, profile: Profile, expected_version: int | None, history: list[HistoryEntry]
    ) -> list[TransactWriteItemTypeDef]:
        """The transaction items that save `profile` (at its new version) and its history entries.

        The profile's put is conditional on the stored one being at `expected_version` (None: no profile yet).
        """
        return [
            self._put_profile(profile, expected_version),
            *(self._put_history(profile.user_id, entry, profile.version) for entry in history),
        ]

    def _put_profile(self, profile: Profile, expected_version: int | None) -> TransactWriteItemTypeDef:
        item = to_attributes(
            {
                "pk": user_key(profile.user_id),
                "sk": PROFILE_SK,
                **profile.to_wire(),
                "version": profile.version,
                **self._schedule_attributes(profile),
            }
        )
        put: PutTypeDef = {"TableName": self._table, "Item": item}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        return {"Put": put}

    def due_profiles(self, now: datetime, page_size: int = 100) -> Iterator[DueProfile]:
        """Every scheduled profile the dispatcher may pick up at `now`: the SyncDue index, shard by shard."""
        # Imported here: only the dispatcher asks, and the HTTP functions' cold starts skip the module.
        from social_sync.schedule import DueProfile

        for shard in range(SYNC_SHARDS):
            query: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": SYNC_DUE_INDEX,
                "KeyConditionExpression": "syncShard = :shard AND syncDispatchAt <= :now",
                "ExpressionAttributeValues": {
                    ":shard": {"S": str(shard)},
                    ":now": {"S": format_timestamp(now)},
                },
                "Limit": page_size,
            }
            while True:
                with translate_errors():
                    response = self._client.query(**query)
                for item in response.get("Items", []):
                    yield DueProfile(
                        user_id=item["pk"]["S"].removeprefix(user_key("")),
                        dispatch_at=datetime.fromisoformat(item["syncDispatchAt"]["S"]),
                    )
                if "LastEvaluatedKey" not in response:
                    break
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def claim_for_dispatch(self, user_id: str, seen: datetime, until: datetime) -> bool:
        """Hold a due profile for the worker until `until`, unless it changed since the index showed it.

        Bumps the version, so a concurrent sync re-reads rather than writing the claim away.
        """
        try:
            with translate_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key={"pk": {"S": user_key(user_id)}, "sk": {"S": PROFILE_SK}},
                    UpdateExpression="SET syncDispatchAt = :until, version = version + :one",
                    ConditionExpression="syncDispatchAt = :seen",
                    ExpressionAttributeValues={
                        ":until": {"S": format_timestamp(until)},
                        ":seen": {"S": format_timestamp(seen)},
                        ":one": {"N": "1"},
                    },
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @staticmethod
    def _schedule_attributes(profile: Profile) -> dict[str, str]:
        # A full put must carry the schedule along, or a sync would drop the profile off the index.
        if profile.sync_due_at is None:
            return {}
        return {
            "syncDueAt": format_timestamp(profile.sync_due_at),
            "syncDispatchAt": format_timestamp(profile.sync_dispatch_at or profile.sync_due_at),
            "syncShard": sync_shard(profile.user_id),
        }

    def _put_history(self, user_id: str, entry: HistoryEntry, version: int) -> TransactWriteItemTypeDef:
        at = format_timestamp(entry.synced_at)
        item = {
            "pk": user_key(user_id),
            # The profile version makes the key unique even for two syncs in the same millisecond.
            "sk": f"{HISTORY_PREFIX}{entry.platform}#{at}#{version:012d}",
            "historyAt": f"{at}#{entry.platform}#{version:012d}",
            "expiresAt": int((entry.synced_at + self._retention).timestamp()),
            **entry.to_wire(),
        }
        return {"Put": {"TableName": self._table, "Item": to_attributes(item)}}

    def _backoff(self, attempt: int) -> None:
        self._sleep(jitter_delay(attempt))


def jitter_delay(attempt: int) -> float:
    """Seconds to wait before retry `attempt` of a write that lost a race."""
    # Full jitter: spreads racing writers apart instead of letting them collide again in step.
    return random.uniform(0, min(1.0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not security


class DynamoFetchState:
    """What fetching shares across containers, on its own table (key `key`, TTL `expiresAt`):
    YouTube's daily quota counters and /social/fetch's cached answers."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def spend_units(self, counter: str, units: int, limit: int, expires_at: int) -> bool:
        """Add `units` to `counter` in one conditional update that never takes it past `limit`."""
        if units > limit:
            return False
        try:
            with translate_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key={"key": {"S": counter}},
                    UpdateExpression="ADD units :units SET expiresAt = :expires",
                    ConditionExpression="attribute_not_exists(units) OR units <= :room",
                    ExpressionAttributeValues={
                        ":units": {"N": str(units)},
                        ":room": {"N": str(limit - units)},
                        ":expires": {"N": str(expires_at)},
                    },
                )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def cached_numbers(self, key: str, now: int) -> SocialFetchData | None:
        """The answer cached under `key`, unless it expired (TTL deletes late, so the time is checked)."""
        with translate_errors():
            item = self._client.get_item(TableName=self._table, Key={"key": {"S": key}}).get("Item")
        if not item or int(item["expiresAt"]["N"]) <= now:
            return None
        values = from_attributes(item)
        return SocialFetchData.model_validate(values["numbers"])

    def cache_numbers(self, key: str, numbers: SocialFetchData, expires_at: int) -> None:
        """Keep `numbers` under `key` until `expires_at` (epoch seconds)."""
        item = to_attributes({"key": key, "numbers": numbers.to_wire(), "expiresAt": expires_at})
        with translate_errors():
            self._client.put_item(TableName=self._table, Item=item)


def encode_cursor(key: dict[str, Any]) -> str:
    """An opaque, URL-safe cursor for a LastEvaluatedKey."""
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, user_id: str, platform: str | None, low: str, high: str) -> dict[str, Any]:
    """The key a cursor stands for, only if this very query could have produced it.

    That is: this user's partition, a history item's sort key, and the query's own range key
    (`sk` for one platform, `historyAt` for every platform) inside [low, high]: DynamoDB refuses a
    start key outside the key condition, so a cursor reused with a narrower window is a 400 here.
    """
    expected = {"pk", "sk"} if platform is not None else {"pk", "sk", "historyAt"}
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, RecursionError) as error:
        raise _bad_cursor() from error
    valid = (
        isinstance(key, dict)
        and set(key) == expected
        and all(
            isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)
            for value in key.values()
        )
        and key["pk"]["S"] == user_key(user_id)
        and key["sk"]["S"].startswith(HISTORY_PREFIX)
        and low <= key["sk" if platform is not None else "historyAt"]["S"] <= high
    )
    if not valid:
        raise _bad_cursor()
    return dict(key)


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "cursor is not valid for this query; start again without it",
        [FieldError("cursor", "is not valid")],
    )


def _is_retryable(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "TransactionCanceledException":
        reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
        return bool(reasons & _RETRY_REASONS) and reasons <= _RETRY_REASONS | {"None", None}
    return code in _RETRYABLE_ERRORS


@contextmanager
def translate_errors() -> Iterator[None]:
    """A database that cannot be reached becomes StoreUnavailable (503), not a 500."""
    try:
        yield
    except BotoCoreError as error:
        raise StoreUnavailable(
            "The database is unavailable right now; nothing was changed, try again"
        ) from error
