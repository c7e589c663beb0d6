"""A user's data points in DynamoDB: key-range Queries, and cursors that only their own query accepts."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from social_sync.data.dynamo import error_code, translate_errors
from social_sync.data.items import HistoryItem
from social_sync.data.keys import HISTORY_BY_TIME, HISTORY_PREFIX, history_sort_key, user_key
from social_sync.errors import FieldError, InvalidRequest
from social_sync.models import HistoryEntry, format_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoHistory:
    """History (social_sync.protocols) in the profiles table: one platform by the table's own sort key,
    every platform by the HistoryByTime index."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def history(
        self,
        user_id: str,
        platform: str | None,
        start: datetime,
        end: datetime,
        limit: int,
        cursor: str | None = None,
    ) -> tuple[list[HistoryEntry], str | None]:
        """Data points in [start, end] in time order from one Query on a key range, and the next cursor."""
        query, (low, high) = self._range_query(user_id, platform, start, end)
        query["Limit"] = limit
        if cursor is not None:
            query["ExclusiveStartKey"] = decode_cursor(cursor, user_id, platform, low, high)
        try:
            with translate_errors():
                response = self._client.query(**query)
        except ClientError as error:
            # A cursor the checks above let through but DynamoDB still refuses is the caller's mistake.
            if cursor is None or error_code(error) != "ValidationException":
                raise
            raise _bad_cursor() from error
        entries = [HistoryItem.read(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return entries, encode_cursor(last) if last else None

    def history_bounds(
        self, user_id: str, platform: str, start: datetime, end: datetime
    ) -> tuple[HistoryEntry, HistoryEntry] | None:
        """A platform's first and last data points in [start, end], or None when it has none there."""
        query, _ = self._range_query(user_id, platform, start, end)
        points = []
        for forward in (True, False):
            with translate_errors():
                response = self._client.query(**query, ScanIndexForward=forward, Limit=1)
            items = response.get("Items", [])
            if not items:
                return None
            points.append(HistoryItem.read(items[0]))
        return points[0], points[1]

    def _range_query(
        self, user_id: str, platform: str | None, start: datetime, end: datetime
    ) -> tuple[dict[str, Any], tuple[str, str]]:
        # "~" sorts after every character a key uses, so the range takes in all of `end`'s millisecond.
        low, high = format_timestamp(start), format_timestamp(end) + "~"
        query: dict[str, Any] = {"TableName": self._table}
        if platform is None:
            query["IndexName"] = HISTORY_BY_TIME
            key = "historyAt"
        else:
            key = "sk"
            low, high = history_sort_key(platform, low), history_sort_key(platform, high)
        query["KeyConditionExpression"] = f"pk = :pk AND {key} BETWEEN :low AND :high"
        query["ExpressionAttributeValues"] = {
            ":pk": {"S": user_key(user_id)},
            ":low": {"S": low},
            ":high": {"S": high},
        }
        return query, (low, high)


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
