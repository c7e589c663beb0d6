"""An HTTP API Lambda authorizer as API Gateway runs it, in front of the local routes.

What API Gateway does (its documentation of Lambda authorizers for HTTP APIs): a request without
the identity source (the Authorization header) is 401 and the function is not called; otherwise the
function gets the payload 2.0 authorizer event, and with simple responses answers
`{"isAuthorized": bool, "context": {...}}`. Allowed: the route's function sees the context at
`requestContext.authorizer.lambda`. Denied: 403. A function that fails with the message
"Unauthorized": 401. Any other failure or answer: 500. Answers are cached per identity source value
for the authorizer's TTL (0: never), allowed and denied alike.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from localrun.authorizer import Forbidden, Unauthorized
from localrun.events import HttpRequest, build_authorizer_event
from localrun.runtime import Handler, new_context
from localrun.template import FunctionSpec, LambdaAuthorizerSpec

# Enough for any local run; past it, the oldest answers go first.
MAX_CACHED_ANSWERS = 10_000


class AuthorizerFailed(Exception):
    """The authorizer failed or answered something API Gateway cannot use: 500."""


class LambdaAuthorizer:
    """One Lambda authorizer: its function, and the answers it gave that are still cached."""

    def __init__(
        self,
        spec: LambdaAuthorizerSpec,
        function: FunctionSpec,
        handler: Handler,
        region: str,
        port: int | None = None,
        log: Callable[[str], None] = print,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if spec.payload_format_version != "2.0" or not spec.simple_responses:
            raise ValueError(f"authorizer {spec.name}: only payload 2.0 with simple responses runs locally")
        self.spec = spec
        self.function = function
        self.handler = handler
        self.region = region
        self.port = port
        self.log = log
        self.clock = clock
        self.invocations = 0
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, bool, dict[str, Any]]] = {}

    def authorize(
        self, request: HttpRequest, route_key: str, path_parameters: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The context that lets `request` through; raises Unauthorized, Forbidden or AuthorizerFailed."""
        identity = request.header(self.spec.header)
        if not identity:
            raise Unauthorized("no identity source")
        answer = self._cached(identity)
        if answer is None:
            answer = self._invoke(request, route_key, identity, path_parameters)
        allowed, context = answer
        if not allowed:
            raise Forbidden("the authorizer denied the request")
        return context

    def _cached(self, identity: str) -> tuple[bool, dict[str, Any]] | None:
        with self._lock:
            entry = self._cache.get(identity)
            if entry is None:
                return None
            expires, allowed, context = entry
            if self.clock() >= expires:
                del self._cache[identity]
                return None
            return allowed, context

    def _invoke(
        self,
        request: HttpRequest,
        route_key: str,
        identity: str,
        path_parameters: Mapping[str, str] | None,
    ) -> tuple[bool, dict[str, Any]]:
        event = build_authorizer_event(
            request, route_key, [identity], path_parameters, port=self.port, region=self.region
        )
        self.invocations += 1
        try:
            result = self.handler(event, new_context(self.function, self.region))
        except Exception as error:
            if str(error) == "Unauthorized":
                raise Unauthorized("the authorizer refused the request") from None
            # Like Lambda: the traceback goes to the function's log, never to the caller.
            self.log(f"{self.function.logical_id} raised:\n{traceback.format_exc()}")
            raise AuthorizerFailed(self.function.logical_id) from None
        allowed = result.get("isAuthorized") if isinstance(result, dict) else None
        context = result.get("context") or {} if isinstance(result, dict) else None
        if not isinstance(allowed, bool) or not isinstance(context, dict):
            self.log(f"{self.function.logical_id} returned no simple response (isAuthorized, context)")
            raise AuthorizerFailed(self.function.logical_id)
        if self.spec.ttl_seconds > 0:
            with self._lock:
                if len(self._cache) >= MAX_CACHED_ANSWERS:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[identity] = (self.clock() + self.spec.ttl_seconds, allowed, context)
        return allowed, context
