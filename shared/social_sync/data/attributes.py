"""JSON values as DynamoDB attribute values and back; numbers cross as Decimal, so nothing drifts.

Written here rather than taken from boto3.dynamodb.types: importing that loads all of boto3, and the
items hold JSON only (no sets or binary), so six types are the whole mapping.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def to_attributes(data: dict[str, Any]) -> dict[str, Any]:
    """A JSON-ready dict as DynamoDB attribute values; floats go through their shortest repr into Decimal."""
    exact = json.loads(json.dumps(data, allow_nan=False), parse_float=Decimal)
    return {name: _attribute(value) for name, value in exact.items()}


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute values as a plain dict (numbers as Decimal, which the models read exactly)."""
    return {name: _value(attribute) for name, attribute in item.items()}


def _attribute(value: Any) -> dict[str, Any]:
    # `value` came out of json.loads: None, bool, str, int, Decimal, list or dict.
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_attribute(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {name: _attribute(item) for name, item in value.items()}}
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def _value(attribute: dict[str, Any]) -> Any:
    ((kind, raw),) = attribute.items()
    if kind == "N":
        return Decimal(raw)
    if kind in ("S", "BOOL"):
        return raw
    if kind == "NULL":
        return None
    if kind == "L":
        return [_value(item) for item in raw]
    if kind == "M":
        return {name: _value(item) for name, item in raw.items()}
    raise ValueError(f"unexpected DynamoDB attribute type {kind} in the profile table")
