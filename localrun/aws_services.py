"""AWS services other than DynamoDB, answered on the local API so no SDK call leaves the machine.

The functions get AWS_ENDPOINT_URL pointing here (DynamoDB keeps its own endpoint, DynamoDB
Local). EventBridge PutEvents is accepted and each event logged, so a developer sees what a
deployment would publish; any other call gets an error the SDK understands, at once.

Only the local functions may call it: their AWS clients sign with an access key id made once
for the state folder (readable by its owner only), and a call signed with any other key, from
another local process or a web page posting to 127.0.0.1, is refused without being looked at.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from localrun.events import HttpRequest

ENDPOINT_PATH = "/__aws"
JSON_1_1 = "application/x-amz-json-1.1"
ACCESS_KEY_FILE = "aws-access-key-id"
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]+)/")


def endpoint_url(api_url: str) -> str:
    """The AWS_ENDPOINT_URL the functions get: this module's path on the local API."""
    return f"{api_url}{ENDPOINT_PATH}"


def local_access_key_id(state_dir: Path) -> str:
    """The access key id the local functions sign AWS calls with: made once, kept in `state_dir` (0600)."""
    path = state_dir / ACCESS_KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another local command made it first
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write("LOCAL" + secrets.token_hex(16).upper())
    return path.read_text().strip()


def is_signed_with(request: HttpRequest, access_key_id: str | None) -> bool:
    """Whether an SDK call was signed with `access_key_id` (the local functions' own)."""
    found = _CREDENTIAL.search(request.header("authorization") or "")
    return access_key_id is not None and found is not None and hmac.compare_digest(found[1], access_key_id)


def answer(
    request: HttpRequest, log: Callable[[str], None], access_key_id: str | None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body for one AWS SDK call that reached the local endpoint."""
    if not is_signed_with(request, access_key_id):
        error = {
            "__type": "UnrecognizedClientException",
            "message": "The security token included in the request is invalid.",
        }
        return 403, {"content-type": JSON_1_1}, json.dumps(error).encode()
    target = request.header("x-amz-target") or ""
    if target == "AWSEvents.PutEvents":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            error = {"__type": "SerializationException", "message": "the request body is not a JSON object"}
            return 400, {"content-type": JSON_1_1}, json.dumps(error).encode()
        return _put_events(body, log)
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
