"""One HTTP API route per function: the payload 2.0 event in, a JSON response out.

Each function sits behind exactly one API Gateway route, so there is nothing to dispatch;
a general router (Powertools' event handler) cost a third of the layer's cold start for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from social_sync import telemetry
from social_sync.errors import DomainError, FieldError, InvalidRequest, RetryLater, status_of
from social_sync.models import Answer, ErrorResponse, SocialFetchErrorResponse

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
    def path_parameters(self) -> dict[str, str]:
        """The values of the route's {parameters}, as API Gateway matched them."""
        return dict(self.event.get("pathParameters") or {})

    @property
    def caller(self) -> str | None:
        """Who is calling, as whichever authorizer ran verified it (None when none did).

        AuthMode shared-secret: the Lambda authorizer's context (`requestContext.authorizer.lambda`),
        whose `userId` is the token's first id claim; AuthMode oidc: the JWT authorizer's `sub` claim.
        """
        authorizer = self.event.get("requestContext", {}).get("authorizer") or {}
        if "lambda" in authorizer:
            caller = (authorizer.get("lambda") or {}).get("userId")
        else:
            caller = ((authorizer.get("jwt") or {}).get("claims") or {}).get("sub")
        return caller if isinstance(caller, str) and caller else None


class Route:
    """A function's one route: runs `handle` for it and turns domain errors into the documented JSON.

    The status of an error is the one table's (social_sync.errors.STATUS). With `error_codes` (status ->
    short machine-friendly phrase), every error body also carries `error`, as the app's
    platform-analytics code reads it: {"success": false, "error", "message"}.
    """

    def __init__(
        self,
        method: str,
        path: str,
        handle: Callable[[HttpRequest], Answer],
        error_codes: Callable[[int, DomainError | None], str] | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self._handle = handle
        self._error_codes = error_codes

    def resolve(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """The HTTP API response for one event."""
        # The route API Gateway matched, not the raw path: a stage or a base path would prefix that.
        if event.get("routeKey") != f"{self.method} {self.path}":
            return json_response(404, self._error(404, None, "No such route"))
        try:
            return json_response(200, self._handle(HttpRequest(event, context)))
        except DomainError as error:
            return self._refusal(error)
        except Exception as error:
            # Type only: a traceback or message could carry internals into the logs.
            logger.error("unexpected error", extra={"error_type": type(error).__name__})
            return json_response(
                500, self._error(500, None, "Something went wrong on our side; try again later")
            )

    def _error(
        self, status: int, error: DomainError | None, message: str, problems: list[FieldError] | None = None
    ) -> ErrorResponse:
        if self._error_codes is None:
            return ErrorResponse(message=message, errors=problems)
        return SocialFetchErrorResponse(
            error=self._error_codes(status, error), message=message, errors=problems
        )

    def _refusal(self, error: DomainError) -> dict[str, Any]:
        status = status_of(type(error))
        logger.info("request refused", extra={"status": status, "reason": type(error).__name__})
        telemetry.rejected(status)
        problems = error.errors if isinstance(error, InvalidRequest) and error.errors else None
        headers = {}
        if isinstance(error, RetryLater):
            headers["Retry-After"] = str(error.retry_after_seconds)
        elif status == 503:
            headers["Retry-After"] = "1"
        return json_response(status, self._error(status, error, error.message, problems), headers)


def json_response(status: int, body: Answer, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An HTTP API (payload 2.0) response with a compact JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body.to_wire(), separators=(",", ":")),
        "isBase64Encoded": False,
    }
