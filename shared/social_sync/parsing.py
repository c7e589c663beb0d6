"""What a request carries, read and checked: the caller, the JSON body, the query string.

Every problem is an InvalidRequest (or PayloadTooLarge, Unauthenticated) saying, in terms of JSON
rather than Python, what is wrong and with which field.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from social_sync.errors import FieldError, InvalidRequest, PayloadTooLarge, Unauthenticated
from social_sync.http import HttpRequest
from social_sync.models import MAX_USER_ID_LENGTH

MAX_BODY_BYTES = 16 * 1024
# No request body nests deeper than 3; refusing deep ones before parsing keeps every parser's
# recursion (json, pydantic, our own serializers) far from Python's limit.
MAX_BODY_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')

RequestT = TypeVar("RequestT", bound=BaseModel)


def caller_id(http: HttpRequest) -> str:
    """The caller the HTTP API's authorizer verified; the only source of the caller's identity."""
    caller = http.caller
    if caller is None:
        raise Unauthenticated("Unauthorized")
    if len(caller) > MAX_USER_ID_LENGTH:
        # It could never be stored (DynamoDB keys) nor queued for the scheduled sync.
        raise Unauthenticated(f"Unauthorized: the caller's id is over {MAX_USER_ID_LENGTH} characters")
    return caller


def parse_body(http: HttpRequest, model: type[RequestT]) -> RequestT:
    """The request body as `model`, or InvalidRequest / PayloadTooLarge saying what is wrong."""
    raw = http.body
    try:
        # surrogatepass: a lone surrogate in the event's text is refused below as bad UTF-8, not a crash.
        data = (
            base64.b64decode(raw, validate=True)
            if http.is_base64_encoded
            else raw.encode("utf-8", "surrogatepass")
        )
    except (binascii.Error, ValueError) as error:
        raise InvalidRequest("The request body must be JSON") from error
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest("The request body must be JSON in UTF-8") from error
    if _nesting_depth(text) > MAX_BODY_DEPTH:
        raise InvalidRequest(f"The request body nests deeper than {MAX_BODY_DEPTH} levels")
    try:
        payload = json.loads(text)
        # A \ud800 escape decodes to a lone surrogate, which is no text at all: refuse it here.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequest("The request body must be JSON in UTF-8") from error
    except (ValueError, RecursionError) as error:
        raise InvalidRequest("The request body must be JSON") from error
    if not isinstance(payload, dict):
        raise InvalidRequest("The request body must be a JSON object")
    return _validate(model, payload, "request body")


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text, counted without parsing it (strings skipped)."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_query(http: HttpRequest, model: type[RequestT]) -> RequestT:
    """The query string as `model`, or InvalidRequest saying what is wrong."""
    return _validate(model, http.query, "query")


def _validate(model: type[RequestT], data: dict[str, Any], part: str) -> RequestT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [_field_error(detail) for detail in error.errors()]
        summary = "; ".join(f"{problem.field}: {problem.message}" for problem in problems)
        raise InvalidRequest(f"Invalid {part}: {summary}", problems) from error


# Pydantic's messages speak of Python ("Input should be a valid dictionary"); these speak of JSON.
_FIELD_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field this request takes",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must be at least {min_length} character(s) long",
    "string_too_long": "must be at most {max_length} characters long",
    "string_pattern_mismatch": "has characters that are not allowed",
    "literal_error": "must be one of {expected}",
    "url_parsing": "must be an http(s) URL",
    "url_scheme": "must be an http(s) URL",
    "url_too_long": "must be an http(s) URL of at most {max_length} characters",
    "datetime_parsing": "must be an ISO 8601 date or time",
    "datetime_from_date_parsing": "must be an ISO 8601 date or time",
    "datetime_type": "must be an ISO 8601 date or time",
}


def _field_error(detail: Any) -> FieldError:
    # "[key]" is pydantic's marker for a bad dict key: the path up to it already names the key.
    parts = [part for part in detail["loc"] if part != "[key]"]
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts).lstrip(".")
    template = _FIELD_MESSAGES.get(detail["type"])
    if template is not None:
        message = template.format(**detail.get("ctx", {}))
    else:
        message = str(detail["msg"]).removeprefix("Value error, ")
    return FieldError(field=path or "body", message=message)
