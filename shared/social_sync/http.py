"""One HTTP API route per function: the payload 2.0 event in, a JSON response out.

Each function sits behind exactly one API Gateway route, so there is nothing to dispatch;
a general router (Powertools' event handler) cost a third of the layer's cold start for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from social_sync.errors import DomainError, InvalidRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()


@dataclass(frozen=True)
class HttpRequest:
    """What a route reads of an API Gateway HTTP API (payload format 2.0) event."""

    event: dict[str, Any]
    context: LambdaContext

    @property
    def headers(self) -> dict[str, str]:
        """Header names lower-cased, as API Gateway sends them."""
        return {name.lower(): value for name, value in (self.event.get("headers") or {}).items()}

    @property
    def body(self) -> str:
        return self.event.get("body") or ""

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self.event.get("isBase64Encoded"))

    @property
    def query(self) -> dict[str, str]:
        return dict(self.event.get("queryStringParameters") or {})

    @property
    def claims(self) -> dict[str, Any]:
        """The JWT claims the HTTP API's authorizer verified (empty when none reached us)."""
        authorizer = self.event.get("requestContext", {}).get("authorizer") or {}
        return dict((authorizer.get("jwt") or {}).get("claims") or {})


class Route:
    """A function's one route: runs `handle` for it and turns domain errors into the documented JSON."""

    def __init__(
        self,
        method: str,
        path: str,
        handle: Callable[[HttpRequest], dict[str, Any]],
        statuses: Mapping[type[DomainError], int],
    ) -> None:
        self.method = method
        self.path = path
        self._handle = handle
        self._statuses = statuses

    def resolve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """The HTTP API response for one event."""
        method = event.get("requestContext", {}).get("http", {}).get("method")
        if (method, event.get("rawPath")) != (self.method, self.path):
            return json_response(404, {"success": False, "message": "No such route"})
        try:
            return json_response(200, self._handle(HttpRequest(event, context)))
        except DomainError as error:
            return self._refusal(error)
        except Exception as error:
            # Type only: a traceback or message could carry internals into the logs.
            logger.error("unexpected error", extra={"error_type": type(error).__name__})
            return json_response(
                500, {"success": False, "message": "Something went wrong on our side; try again later"}
            )

    def _refusal(self, error: DomainError) -> dict[str, Any]:
        # The most specific class with a status wins (RapidApiTimeout before RapidApiError);
        # a domain error nobody gave a status is a bug on our side, so a 500.
        status = next((self._statuses[kind] for kind in type(error).__mro__ if kind in self._statuses), 500)
        logger.info("request refused", extra={"status": status, "reason": type(error).__name__})
        body: dict[str, Any] = {"success": False, "message": error.message}
        if isinstance(error, InvalidRequest) and error.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
        headers = {}
        retry_after = getattr(error, "retry_after_seconds", None)  # SyncTooSoon, QuotaExhausted
        if isinstance(retry_after, int):
            headers["Retry-After"] = str(retry_after)
        elif status == 503:
            headers["Retry-After"] = "1"
        return json_response(status, body, headers)


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) response with a compact JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }
