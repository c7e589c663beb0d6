"""The fetch-state table: counters every container draws on, and answers cached for a while."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from social_sync.data.attributes import from_attributes, to_attributes
from social_sync.data.dynamo import condition_failed, translate_errors
from social_sync.models import SocialFetchData

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoFetchState:
    """What fetching shares across containers, on its own table (key `key`, TTL `expiresAt`): the
    platforms' request windows and YouTube's daily quota (counters), and /social/fetch's cached answers
    (social_sync.protocols.FetchCache)."""

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
            if condition_failed(error):
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
