"""AWS services other than DynamoDB, answered on the local API so no SDK call leaves the machine.

The functions get AWS_ENDPOINT_URL pointing here (DynamoDB keeps its own endpoint, DynamoDB
Local). EventBridge PutEvents is accepted and each event logged, so a developer sees what a
deployment would publish; any other call gets an error the SDK understands, at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from localrun.events import HttpRequest

ENDPOINT_PATH = "/__aws"
JSON_1_1 = "application/x-amz-json-1.1"


def endpoint_url(api_url: str) -> str:
    """The AWS_ENDPOINT_URL the functions get: this module's path on the local API."""
    return f"{api_url}{ENDPOINT_PATH}"


def answer(request: HttpRequest, log: Callable[[str], None]) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for one AWS SDK call that reached the local endpoint."""
    target = request.header("x-amz-target") or ""
    if target == "AWSEvents.PutEvents":
        return _put_events(json.loads(request.body or b"{}"), log)
    log(f"AWS call {target or request.raw_path} is not emulated locally; answered with an error")
    error = {"__type": "UnsupportedOperation", "message": f"{target or 'this call'} is not available locally"}
    return 400, {"content-type": JSON_1_1}, json.dumps(error).encode()


def _put_events(body: dict[str, Any], log: Callable[[str], None]) -> tuple[int, dict[str, str], bytes]:
    entries = body.get("Entries", [])
    for entry in entries:
        log(
            f"EventBridge event on bus {entry.get('EventBusName', 'default')}: "
            f"{entry.get('Source')} / {entry.get('DetailType')} {entry.get('Detail', '')}"
        )
    result = {"FailedEntryCount": 0, "Entries": [{"EventId": str(uuid.uuid4())} for _ in entries]}
    return 200, {"content-type": JSON_1_1}, json.dumps(result).encode()
