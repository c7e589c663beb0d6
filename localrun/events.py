"""Build the HTTP API payload format 2.0 event API Gateway hands a Lambda function.

Shape and quirks follow API Gateway's documentation of payload 2.0: headers lower-cased
with repeated headers joined by commas, the Cookie header moved to `cookies`, repeated
query parameters joined by commas, keys that would be empty left out, claims turned
into strings, and the body base64-encoded unless its content type is text.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from localrun.settings import LOCAL_ACCOUNT_ID, LOCAL_API_ID

# Content types API Gateway passes through as text; anything else arrives base64-encoded.
TEXT_TYPES = ("application/json", "application/javascript", "application/xml", "application/yaml")


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as it arrived: what API Gateway sees before it builds the event."""

    method: str
    raw_path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The value of header `name` (case-insensitive), repeated values joined by commas."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None


def build_http_api_event(
    request: HttpRequest,
    route_key: str,
    path_parameters: Mapping[str, str] | None = None,
    claims: Mapping[str, Any] | None = None,
    scopes: Sequence[str] | None = None,
    port: int | None = None,
    lambda_context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event for `request` matched to `route_key`, with what the authorizer verified:
    a JWT authorizer's `claims`, or a Lambda authorizer's simple-response `lambda_context`."""
    now = datetime.now(UTC)
    host = (request.header("host") or "127.0.0.1").split(":")[0]
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    # Headers API Gateway adds on its way to the function.
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    if port is not None:
        headers.setdefault("x-forwarded-port", str(port))
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")

    request_id = base64.b64encode(secrets.token_bytes(12)).decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = query_string_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
    }
    if lambda_context is not None:
        context["authorizer"] = {"lambda": dict(lambda_context)}
    elif claims is not None:
        context["authorizer"] = {
            "jwt": {
                "claims": {name: claim_as_string(value) for name, value in claims.items()},
                # API Gateway passes scopes only for routes that require some; otherwise null.
                "scopes": list(scopes) if scopes else None,
            }
        }
    context.update(
        {
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.header("user-agent") or "",
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
    )
    event["requestContext"] = context
    if request.body:
        text = _utf8(request.body) if is_text(request.header("content-type")) else None
        if text is not None:
            event["body"] = text
            event["isBase64Encoded"] = False
        else:
            # Like API Gateway: a body that is not text, or not valid UTF-8, reaches the function as base64.
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    return event


def query_string_parameters(raw_query: str) -> dict[str, str]:
    """Decoded query parameters, repeated names joined by commas as API Gateway does."""
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def claim_as_string(value: Any) -> str:
    """A claim as API Gateway renders it: numbers and booleans as text, lists as `[a b]`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_as_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{claim_as_string(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this content type as text rather than base64."""
    if not content_type:
        return False
    media_type = content_type.split(";")[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in TEXT_TYPES
        or media_type.endswith("+json")
        or media_type.endswith("+xml")
    )


def build_authorizer_event(
    request: HttpRequest,
    route_key: str,
    identity_source: Sequence[str],
    path_parameters: Mapping[str, str] | None = None,
    port: int | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """The payload 2.0 event API Gateway sends an HTTP API Lambda authorizer (type REQUEST).

    The route's event without its body, plus `type`, the `routeArn` and the identity source values.
    """
    event = build_http_api_event(request, route_key, path_parameters, port=port)
    for key in ("body", "isBase64Encoded"):
        event.pop(key, None)
    method, _, path = route_key.partition(" ")
    route_arn = f"arn:aws:execute-api:{region}:{LOCAL_ACCOUNT_ID}:{LOCAL_API_ID}/$default/{method}{path}"
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": route_arn,
        "identitySource": list(identity_source),
        **{key: value for key, value in event.items() if key != "version"},
    }


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None
