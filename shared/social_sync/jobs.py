"""The scheduled sync's Lambda edge: the EventBridge dispatcher and the SQS worker.

Each function binds one factory at import time, so settings are checked and clients are made
once per container:

    lambda_handler = dispatcher()   # functions/scheduled_sync/app.py
    lambda_handler = worker()       # functions/sync_worker/app.py
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from pydantic import BaseModel, ConfigDict, Field

from social_sync import aws, telemetry
from social_sync.deadline import Deadline
from social_sync.errors import DomainError
from social_sync.models import MAX_USER_ID_LENGTH, utc_now
from social_sync.notifications import StatsSyncedPublisher
from social_sync.schedule import (
    RefreshIncomplete,
    RefreshQueue,
    RefreshReport,
    dispatch_due_profiles,
    refresh_profile,
)
from social_sync.settings import Settings
from social_sync.store import DynamoProfileStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

    from social_sync.profiles import AccountFetcher

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]

# A record only starts when this much time is left: one profile's fetches (the background retry
# budget) and its write. Later records are reported failed and SQS delivers them again.
RECORD_RESERVE_SECONDS = 75.0
# What a record keeps of the function's time after its fetches: its write.
WRITE_MARGIN_SECONDS = 10.0

logger = Logger()


class RefreshMessage(BaseModel):
    """The body of a SyncQueue message: whose profile to refresh. The worker reads the rest itself."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    user_id: Annotated[str, Field(alias="userId", min_length=1, max_length=MAX_USER_ID_LENGTH)]


class QueueUnavailable(Exception):
    """SQS would not take some messages; the dispatcher run fails and EventBridge retries it."""


class SqsRefreshQueue:
    """RefreshQueue on SQS: one SendMessageBatch per batch, resending what SQS reports failed."""

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


def dispatcher(queue: RefreshQueue | None = None) -> LambdaHandler:
    """The EventBridge-scheduled entry point: claim the due profiles and queue them for the worker.

    `queue` replaces SQS (`make sync-now` collects the messages to hand them to the worker).
    """
    settings = Settings.from_env()
    store = _store(settings)
    if queue is None:
        if not settings.sync_queue_url:
            raise ValueError("SYNC_QUEUE_URL is not set")
        queue = SqsRefreshQueue(aws.sqs(), settings.sync_queue_url)
    target = queue

    @logger.inject_lambda_context(clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        now = utc_now()
        report = dispatch_due_profiles(
            store,
            target,
            now,
            claim_seconds=settings.sync_claim_seconds,
            time_left=lambda: context.get_remaining_time_in_millis() / 1000,
        )
        telemetry.dispatched(report, now)
        summary = {"dispatched": len(report.sent), "skipped": report.skipped, "deferred": report.deferred}
        if report.unsendable:
            # The start of each id only: enough to find the profile, never a whole oversized value.
            logger.warning(
                "due profiles no message can carry were left alone", extra={"user_ids": report.unsendable}
            )
        logger.info("due profiles dispatched", extra=summary)
        return summary

    return telemetry.traced(lambda_handler)


def worker(fetch: AccountFetcher | None = None) -> LambdaHandler:
    """The SQS entry point: refresh each queued profile, reporting the records that failed.

    The batch's profiles are refreshed side by side (the rate limiter they share paces the
    requests), so RapidAPI's latency does not leave the plan's rate unused; Powertools'
    BatchProcessor then settles each record. A record fails, and SQS delivers it again (then to
    the dead-letter queue), when its body is not a RefreshMessage, when some platform failed at
    RapidAPI (the others are saved), or when too little time is left to refresh it. `fetch`
    replaces RapidAPI in tests.
    """
    settings = Settings.from_env()
    store = _store(settings)
    publisher = _publisher(settings)
    fetcher = (lambda deadline: fetch) if fetch else _rapidapi_fetcher(settings)
    # Report even a batch that failed whole record by record, rather than failing the invocation:
    # the response then says exactly which messages to deliver again.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def refresh(body: str, context: LambdaContext) -> dict[str, Any]:
        if context.get_remaining_time_in_millis() / 1000 < RECORD_RESERVE_SECONDS:
            raise TimeoutError("too little time left to refresh a profile; SQS delivers it again")
        message = RefreshMessage.model_validate_json(body)
        fetch = fetcher(Deadline.before_timeout(context, WRITE_MARGIN_SECONDS))
        try:
            report = refresh_profile(store, settings, fetch, message.user_id, utc_now, publisher=publisher)
        except RefreshIncomplete as incomplete:
            _log(incomplete.report)
            telemetry.refresh_failed(incomplete.report)
            raise
        except DomainError as error:
            telemetry.refresh_failed(None)
            logger.warning(
                "profile refresh failed",
                extra={"user_id": message.user_id, "reason": type(error).__name__, "detail": error.message},
            )
            raise
        except Exception as error:
            telemetry.refresh_failed(None)
            # The type only, as at the HTTP edge; SQS delivers the message again either way.
            logger.error(
                "profile refresh failed unexpectedly",
                extra={"user_id": message.user_id, "error_type": type(error).__name__},
            )
            raise
        _log(report)
        telemetry.refreshed(report)
        return {"userId": report.user_id, "refreshed": report.refreshed}

    @logger.inject_lambda_context(clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        records = [record for record in event.get("Records", []) if isinstance(record, dict)]
        with ThreadPoolExecutor(max_workers=max(1, len(records))) as pool:
            started = {
                str(record.get("messageId")): pool.submit(refresh, str(record.get("body", "")), context)
                for record in records
            }

            def settle(record: SQSRecord) -> dict[str, Any]:
                return started[record.message_id].result()

            response = process_partial_response(
                event=event, record_handler=settle, processor=processor, context=context
            )
        return dict(response)

    return telemetry.traced(lambda_handler)


def _log(report: RefreshReport) -> None:
    # Platforms and outcomes only: handles stay out of the logs.
    details = {
        "user_id": report.user_id,
        "refreshed": report.refreshed,
        "fresh": report.fresh,
        "not_found": report.not_found,
        "failed": sorted(report.failed),
        "limited": report.limited,
        "rescheduled_to": report.rescheduled_to.isoformat() if report.rescheduled_to else None,
    }
    if report.skipped:
        logger.info("profile not due; nothing to do", extra={"user_id": report.user_id})
    elif report.failed:
        logger.warning("profile partly refreshed; will retry", extra=details)
    else:
        logger.info("profile refreshed", extra=details)


def _store(settings: Settings) -> DynamoProfileStore:
    return DynamoProfileStore(
        aws.dynamodb(),
        settings.table_name,
        history_retention_days=settings.history_retention_days,
        write_attempts=settings.write_attempts,
    )


def _publisher(settings: Settings) -> StatsSyncedPublisher | None:
    if settings.event_bus_name is None:
        return None
    return StatsSyncedPublisher(settings.event_bus_name, aws.events)


def _rapidapi_fetcher(settings: Settings) -> Callable[[Deadline], AccountFetcher]:
    # Imported here: the dispatcher shares this module and never fetches.
    from social_sync.rapidapi import BACKGROUND, rapidapi_client

    # Every worker draws on the plan shared by all containers (social_sync.quota).
    client = rapidapi_client(settings, policy=BACKGROUND, caller="schedule")
    return client.fetcher
