"""The scheduled sync's Lambda edge: the EventBridge dispatcher and the SQS worker.

Each function binds one factory at import time, so settings are checked and clients are made
once per container (social_sync.container builds them):

    lambda_handler = dispatcher()   # functions/scheduled_sync/app.py
    lambda_handler = worker()       # functions/sync_worker/app.py
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from social_sync import telemetry
from social_sync.container import Container
from social_sync.deadline import Deadline
from social_sync.errors import DomainError
from social_sync.models import RefreshMessage, RefreshReport, utc_now
from social_sync.schedule import RefreshIncomplete, dispatch_due_profiles, refresh_profile

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]

# A record only starts when this much time is left: one profile's fetches (the background retry
# budget) and its write. Later records are reported failed and SQS delivers them again.
RECORD_RESERVE_SECONDS = 75.0
# What a record keeps of the function's time after its fetches: its write.
WRITE_MARGIN_SECONDS = 10.0

logger = Logger()


def dispatcher(container: Container | None = None) -> LambdaHandler:
    """The EventBridge-scheduled entry point: claim the due profiles and queue them for the worker.

    `make sync-now` hands in a container whose refresh_queue collects the messages for the worker.
    """
    parts = container or Container.from_env()
    settings = parts.settings
    index, queue = parts.schedule_index, parts.refresh_queue

    @logger.inject_lambda_context(clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        now = utc_now()
        report = dispatch_due_profiles(
            index,
            queue,
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


def worker(container: Container | None = None) -> LambdaHandler:
    """The SQS entry point: refresh each queued profile, reporting the records that failed.

    The batch's profiles are refreshed side by side (the rate limiter they share paces the
    requests), so RapidAPI's latency does not leave the plan's rate unused; Powertools'
    BatchProcessor then settles each record. A record fails, and SQS delivers it again (then to
    the dead-letter queue), when its body is not a RefreshMessage, when some platform failed at
    RapidAPI (the others are saved), or when too little time is left to refresh it.
    """
    parts = container or Container.from_env()
    # Every part is made now, during init: the vendors' client too (every worker draws on the plan
    # shared by all containers, social_sync.quota), rather than by the first of the batch's threads.
    settings, profiles, publisher, vendors = (
        parts.settings,
        parts.profiles,
        parts.publisher,
        parts.background_client,
    )
    # Report even a batch that failed whole record by record, rather than failing the invocation:
    # the response then says exactly which messages to deliver again.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def refresh(body: str, context: LambdaContext) -> dict[str, Any]:
        if context.get_remaining_time_in_millis() / 1000 < RECORD_RESERVE_SECONDS:
            raise TimeoutError("too little time left to refresh a profile; SQS delivers it again")
        message = RefreshMessage.model_validate_json(body)
        fetch = vendors.fetcher(Deadline.before_timeout(context, WRITE_MARGIN_SECONDS))
        try:
            report = refresh_profile(profiles, settings, fetch, message.user_id, utc_now, publisher=publisher)
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
