"""The container's AWS clients: made once each, from one botocore session, and shared.

botocore rather than boto3: the functions only need clients, and importing boto3 also loads its
resource layer and s3transfer, ≈9 ms of every cold start. (Powertools' idempotency and parameters
utilities still import boto3, on the first request that uses them.)
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

# Fail fast when AWS does not answer: the caller gets a clean 503; SQS and EventBridge retry.
CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})

# botocore's session is not thread-safe, and the worker's threads share these clients.
_lock = threading.Lock()
_session: botocore.session.Session | None = None
_clients: dict[str, Any] = {}


def _client(service_name: str) -> Any:
    global _session
    with _lock:
        if service_name not in _clients:
            if _session is None:
                _session = botocore.session.get_session()
            _clients[service_name] = _session.create_client(service_name, config=CLIENT_CONFIG)
        return _clients[service_name]


def dynamodb() -> DynamoDBClient:
    """The container's DynamoDB client."""
    return cast("DynamoDBClient", _client("dynamodb"))


def events() -> EventBridgeClient:
    """The container's EventBridge client."""
    return cast("EventBridgeClient", _client("events"))


def sqs() -> SQSClient:
    """The container's SQS client."""
    return cast("SQSClient", _client("sqs"))


def ssm() -> Any:
    """The container's SSM client (the shared-secret authorizer reads its secret with it)."""
    return _client("ssm")


def secretsmanager() -> Any:
    """The container's Secrets Manager client (the shared-secret authorizer reads its secret with it)."""
    return _client("secretsmanager")
