"""Idempotency-Key: a write runs at most once per (caller, key); a retry gets the first response back.

Powertools' idempotency utility over its own DynamoDB table (IdempotencyTable).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from social_sync.errors import (
    FieldError,
    IdempotencyKeyReused,
    InvalidRequest,
    RequestInProgress,
    StoreUnavailable,
)
from social_sync.http import HttpRequest
from social_sync.models import SocialSyncResponse

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient

MAX_IDEMPOTENCY_KEY = 255


Guard = Callable[["LambdaContext", dict[str, Any], Callable[[], dict[str, Any]]], dict[str, Any]]


class Replayer:
    """Runs a sync at most once per (caller, Idempotency-Key): a retry gets the first response back.

    A different body under a used key is 422; a retry while the first is still running is 409.
    Without the header, or with no idempotency table configured (`table` None), the sync simply runs.
    """

    def __init__(self, table: str | None, ttl_seconds: int, scope: str, dynamodb: DynamoDBClient) -> None:
        self._table = table
        self._ttl = ttl_seconds
        self._scope = scope
        self._dynamodb = dynamodb
        self._guard: Guard | None = None
        self._lock = threading.Lock()

    def __call__(
        self, http: HttpRequest, user_id: str, body: BaseModel, run: Callable[[], SocialSyncResponse]
    ) -> SocialSyncResponse:
        key = http.headers.get("idempotency-key")
        if self._table is None or key is None:
            return run()
        if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise InvalidRequest(
                "Idempotency-Key must be 1 to 255 printable characters",
                [FieldError("Idempotency-Key", "must be 1 to 255 printable characters")],
            )
        request = {"user": user_id, "key": key, "body": body.model_dump(mode="json", exclude_unset=True)}
        # The first response is kept as its JSON, and a retry answers exactly that.
        first: list[SocialSyncResponse] = []

        def run_once() -> dict[str, Any]:
            first.append(run())
            return first[0].to_wire()

        answer = self._guarded(self._table)(http.context, request, run_once)
        return first[0] if first else SocialSyncResponse.model_validate(answer)

    def _guarded(self, table: str) -> Guard:
        # Built on the first request that carries a key, so cold starts do not pay for the utility.
        with self._lock:
            if self._guard is None:
                self._guard = _guard(table, self._ttl, self._scope, self._dynamodb)
            return self._guard


def _guard(table: str, ttl_seconds: int, scope: str, dynamodb: DynamoDBClient) -> Guard:
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[user, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=ttl_seconds,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=dynamodb)

    @idempotent_function(
        data_keyword_argument="request", persistence_store=persistence, config=config, key_prefix=scope
    )
    def once(request: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return run()

    def guarded(
        context: LambdaContext, request: dict[str, Any], run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        config.register_lambda_context(context)
        try:
            return once(request=request, run=run)  # type: ignore[no-any-return]
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body"
            ) from error
        except IdempotencyAlreadyInProgressError as error:
            raise RequestInProgress("A request with this Idempotency-Key is still being processed") from error
        except IdempotencyPersistenceLayerError as error:
            raise StoreUnavailable(
                "The database is unavailable right now; nothing was changed, try again"
            ) from error

    return guarded
