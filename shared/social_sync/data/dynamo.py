"""DynamoDB's failures as the repositories see them: unreachable, lost a race, or refused a condition."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from social_sync.errors import ConcurrentUpdateConflict, StoreUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

T = TypeVar("T")

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


@contextmanager
def translate_errors() -> Iterator[None]:
    """A database that cannot be reached becomes StoreUnavailable (503), not a 500."""
    try:
        yield
    except BotoCoreError as error:
        raise StoreUnavailable(
            "The database is unavailable right now; nothing was changed, try again"
        ) from error


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def condition_failed(error: ClientError) -> bool:
    """Whether a write was refused because its condition did not hold (someone else's write, or a limit)."""
    return error_code(error) == "ConditionalCheckFailedException"


def is_retryable(error: ClientError) -> bool:
    """Whether a write lost a race or was throttled, so that reading again and retrying can help."""
    code = error_code(error)
    if code == "TransactionCanceledException":
        reasons = {reason.get("Code") for reason in error.response.get("CancellationReasons", [])}
        return bool(reasons & _RETRY_REASONS) and reasons <= _RETRY_REASONS | {"None", None}
    return code in _RETRYABLE_ERRORS


def jitter_delay(attempt: int) -> float:
    """Seconds to wait before retry `attempt` of a write that lost a race."""
    # Full jitter: spreads racing writers apart instead of letting them collide again in step.
    return random.uniform(0, min(1.0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not security


def transact(
    client: DynamoDBClient,
    prepare: Callable[[], tuple[list[TransactWriteItemTypeDef], T]],
    *,
    attempts: int,
    sleep: Callable[[float], None],
) -> T:
    """Write what `prepare` read and decided in one transaction, and give back what it returned.

    The items are conditional on what was read; when another writer got there first, read again and
    decide again, up to `attempts` times with jittered exponential backoff. Domain errors raised by
    `prepare` propagate untouched.
    """
    for attempt in range(attempts):
        items, result = prepare()
        try:
            with translate_errors():
                client.transact_write_items(TransactItems=items)
            return result
        except ClientError as error:
            if not is_retryable(error):
                raise
        sleep(jitter_delay(attempt))
    raise ConcurrentUpdateConflict("The profile is being changed by several requests at once; try again")
