"""The scheduled sync's queue on SQS: the dispatcher's messages to the worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from social_sync.models import RefreshMessage

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef


class QueueUnavailable(Exception):
    """SQS would not take some messages; the dispatcher run fails and EventBridge retries it."""


class SqsRefreshQueue:
    """RefreshQueue (social_sync.protocols) on SQS: one SendMessageBatch per batch, resending what SQS
    reports failed."""

    def __init__(self, client: SQSClient, queue_url: str, attempts: int = 3) -> None:
        self._client = client
        self._url = queue_url
        self._attempts = attempts

    def send(self, user_ids: list[str]) -> None:
        """Queue one message per user id (at most 10, SQS's batch limit)."""
        pending: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "MessageBody": RefreshMessage(user_id=user_id).model_dump_json(by_alias=True)}
            for index, user_id in enumerate(user_ids)
        ]
        for _ in range(self._attempts):
            response = self._client.send_message_batch(QueueUrl=self._url, Entries=pending)
            failed = {entry["Id"] for entry in response.get("Failed", [])}
            if not failed:
                return
            pending = [entry for entry in pending if entry["Id"] in failed]
        raise QueueUnavailable(f"SQS did not take {len(pending)} message(s)")
