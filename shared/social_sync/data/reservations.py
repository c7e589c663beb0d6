"""Fetch reservations in DynamoDB: a user's next fetch of a platform, held for its cooldown."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from social_sync.data.dynamo import condition_failed, translate_errors
from social_sync.data.keys import fetch_key, timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoFetchReservations:
    """FetchReservations (social_sync.protocols) as items beside the user's profile (sk FETCH#<platform>)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def reserve_fetch(self, user_id: str, platform: str, now: datetime, until: datetime) -> datetime | None:
        """Reserve the user's next fetch of `platform` until `until`, in one conditional write.

        Returns None when reserved, else the end of the reservation someone else holds past `now`.
        """
        key = fetch_key(user_id, platform)
        try:
            with translate_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **key,
                        "reservedUntil": timestamp(until),
                        "expiresAt": {"N": str(int(until.timestamp()) + 1)},
                    },
                    ConditionExpression="attribute_not_exists(pk) OR reservedUntil <= :now",
                    ExpressionAttributeValues={":now": timestamp(now)},
                )
        except ClientError as error:
            if not condition_failed(error):
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
                    Key=fetch_key(user_id, platform),
                    ConditionExpression="reservedUntil = :until",
                    ExpressionAttributeValues={":until": timestamp(until)},
                )
        except ClientError as error:
            if not condition_failed(error):
                raise
