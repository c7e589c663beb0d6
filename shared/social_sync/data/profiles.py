"""Profiles in DynamoDB: each write conditional on the version read, with its history in one transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from social_sync.data.attributes import to_attributes
from social_sync.data.dynamo import condition_failed, transact, translate_errors
from social_sync.data.items import HistoryItem, ProfileItem, item_attributes
from social_sync.data.keys import profile_key, sync_shard
from social_sync.errors import ConcurrentUpdateConflict
from social_sync.models import HistoryEntry, Profile, ProfileChange, ProfileStats, format_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

# The attributes that put a profile on the refresh schedule (and the SyncDue index).
_SCHEDULE_ATTRIBUTES = ("syncDueAt", "syncDispatchAt", "syncShard")


class DynamoProfiles:
    """Profiles (social_sync.protocols.Profiles) in the profiles table."""

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
                TableName=self._table, Key=profile_key(user_id), ConsistentRead=True
            )
        item = response.get("Item")
        return ProfileItem.read(item) if item else None

    def change(self, user_id: str, change: ProfileChange) -> Profile:
        """Read, apply `change`, and write the profile and its history in one transaction.

        The write is conditional on the version read; when another writer got there first, read
        again and re-apply, up to `write_attempts` times with jittered exponential backoff. Domain
        errors raised by `change` propagate untouched.
        """

        def prepare() -> tuple[list[TransactWriteItemTypeDef], Profile]:
            current = self.get(user_id)
            updated, history = change(current)
            expected = current.version if current else None
            saved = updated.model_copy(update={"version": (expected or 0) + 1})
            return self.profile_writes(saved, expected, history), saved

        return transact(self._client, prepare, attempts=self._attempts, sleep=self._sleep)

    def update_fields(
        self,
        user_id: str,
        fields: dict[str, Any],
        now: datetime,
        *,
        schedule_from: datetime | None = None,
        unschedule: bool = False,
        expected_version: int | None = None,
    ) -> Profile:
        """Set top-level profile fields in one atomic update; creates the profile if there is none.

        `schedule_from` puts the profile on the refresh schedule, due then, unless it already is on
        it; `unschedule` takes it off. With `expected_version` (0: no profile yet), the update is made
        only if the profile is still at that version, else ConcurrentUpdateConflict.
        """
        if schedule_from is not None and unschedule:
            raise ValueError("a profile is put on the schedule or taken off it, not both")
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
        if schedule_from is not None:
            values[":due"] = {"S": format_timestamp(schedule_from)}
            values[":shard"] = {"S": sync_shard(user_id)}
            assignments += [
                "syncDueAt = if_not_exists(syncDueAt, :due)",
                "syncDispatchAt = if_not_exists(syncDispatchAt, :due)",
                "syncShard = :shard",
            ]
        expression = "SET " + ", ".join(assignments)
        if unschedule:
            expression += " REMOVE " + ", ".join(_SCHEDULE_ATTRIBUTES)
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": profile_key(user_id),
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
            if condition_failed(error):
                raise ConcurrentUpdateConflict("The profile changed while it was being updated") from error
            raise
        return ProfileItem.read(response["Attributes"])

    def profile_writes(
        self, profile: Profile, expected_version: int | None, history: list[HistoryEntry]
    ) -> list[TransactWriteItemTypeDef]:
        """The transaction items that save `profile` (at its new version) and its history entries.

        The profile's put is conditional on the stored one being at `expected_version` (None: no profile yet).
        """
        put: PutTypeDef = {"TableName": self._table, "Item": item_attributes(ProfileItem.of(profile))}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        points: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": item_attributes(
                        HistoryItem.of(
                            profile.user_id, entry, profile.version, entry.synced_at + self._retention
                        )
                    ),
                }
            }
            for entry in history
        ]
        return [{"Put": put}, *points]
