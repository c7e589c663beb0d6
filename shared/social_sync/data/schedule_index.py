"""The refresh schedule's index in DynamoDB: the sparse SyncDue index, read one shard at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from social_sync.data.dynamo import condition_failed, translate_errors
from social_sync.data.keys import SYNC_DUE_INDEX, SYNC_SHARDS, profile_key, timestamp, user_of
from social_sync.models import DueProfile

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoScheduleIndex:
    """ScheduleIndex (social_sync.protocols): the scheduled profiles by shard and dispatch time."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def due_profiles(self, now: datetime, page_size: int = 100) -> Iterator[DueProfile]:
        """Every scheduled profile the dispatcher may pick up at `now`: one Query per shard, never a scan."""
        for shard in range(SYNC_SHARDS):
            query: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": SYNC_DUE_INDEX,
                "KeyConditionExpression": "syncShard = :shard AND syncDispatchAt <= :now",
                "ExpressionAttributeValues": {":shard": {"S": str(shard)}, ":now": timestamp(now)},
                "Limit": page_size,
            }
            while True:
                with translate_errors():
                    response = self._client.query(**query)
                for item in response.get("Items", []):
                    yield DueProfile(
                        user_id=user_of(item["pk"]["S"]),
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
                    Key=profile_key(user_id),
                    UpdateExpression="SET syncDispatchAt = :until, version = version + :one",
                    ConditionExpression="syncDispatchAt = :seen",
                    ExpressionAttributeValues={
                        ":until": timestamp(until),
                        ":seen": timestamp(seen),
                        ":one": {"N": "1"},
                    },
                )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True
