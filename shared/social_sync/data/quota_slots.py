"""The shared vendor quota's data: start-slot sequences in DynamoDB, taken with conditional writes.

A sequence (say "rapidapi") is one item of the fetch-state table, key plan#<name>, beside the
platforms' request windows and YouTube's daily units. It holds `nextSlot`: the earliest wall-clock
time (epoch seconds) the next request may start. Taking a slot moves it on by one interval in a
single conditional UpdateItem, so every container and route that draws from a sequence gets its own
slot, and the requests leave evenly spaced whoever sends them. No logic here: social_sync.quota
decides which sequences to take and how long to wait.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from social_sync.data.dynamo import condition_failed, translate_errors
from social_sync.data.keys import plan_key

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _number(seconds: float) -> dict[str, str]:
    return {"N": f"{seconds:.6f}"}


class DynamoQuotaSlots:
    """Slot sequences (social_sync.protocols.SlotStore) in the fetch-state table."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def take_slot(self, name: str, now: float, interval: float, latest: float) -> float | None:
        """The start time of the next slot of sequence `name`, reserved, or None if it is after `latest`.

        A busy sequence (its next slot still ahead) gives its next slot; an idle one gives `now`.
        Either way the sequence moves on by `interval` in the same conditional write; a busy
        sequence, the steady state under load, costs one write.
        """
        key = plan_key(name)
        for _ in range(2):  # a second round only if the sequence turned busy under our feet
            try:
                with translate_errors():
                    response = self._client.update_item(
                        TableName=self._table,
                        Key=key,
                        UpdateExpression="SET nextSlot = nextSlot + :interval",
                        ConditionExpression="nextSlot > :now AND nextSlot <= :latest",
                        ExpressionAttributeValues={
                            ":interval": _number(interval),
                            ":now": _number(now),
                            ":latest": _number(latest),
                        },
                        ReturnValues="UPDATED_OLD",
                    )
                return float(Decimal(response["Attributes"]["nextSlot"]["N"]))
            except ClientError as error:
                if not condition_failed(error):
                    raise
            try:
                with translate_errors():
                    self._client.update_item(
                        TableName=self._table,
                        Key=key,
                        UpdateExpression="SET nextSlot = :next",
                        ConditionExpression="attribute_not_exists(nextSlot) OR nextSlot <= :now",
                        ExpressionAttributeValues={":now": _number(now), ":next": _number(now + interval)},
                    )
                return now
            except ClientError as error:
                if not condition_failed(error):
                    raise
            if latest <= now:
                break
        return None

    def hold_off(self, name: str, until: float) -> None:
        """No slot of sequence `name` starts before `until` (the vendor asked us to wait)."""
        try:
            with translate_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key=plan_key(name),
                    UpdateExpression="SET nextSlot = :until",
                    ConditionExpression="attribute_not_exists(nextSlot) OR nextSlot < :until",
                    ExpressionAttributeValues={":until": _number(until)},
                )
        except ClientError as error:
            if not condition_failed(error):
                raise
