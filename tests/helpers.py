"""The helpers the tests share, each written once: events and contexts for the handlers, requests through
them and over the local stack, reads of the moto table, the aggregates computed apart from the layer, and
template.yaml as CloudFormation deploys it. Fixtures live in the conftest files; a helper only one test
module uses stays in that module.

A helper that performs a request as a test's setup (a "given" step) asserts the status it expects and
says so in its docstring; a helper for the request under test returns the status for the test to check.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from social_sync.platforms import PLATFORM_SPECS
from tests.fake_rapidapi import FakeRapidApi
from tests.template import ROOT, template

if TYPE_CHECKING:
    from tests.integration.stack import LocalStack, Reply

TABLE_NAME = "social-sync-unit"
FETCH_STATE_TABLE_NAME = "social-sync-unit-fetch-state"
PLATFORM_FUNCTIONS: dict[str, str] = {name: spec.function_id for name, spec in PLATFORM_SPECS.items()}
SYNC_PATH = "/api/v1/profiles/social-sync"
HISTORY_PATH = "/api/v1/profiles/me/stats/history"

# The `function` fixture: a function's module by its logical id in template.yaml.
Functions = Callable[[str], ModuleType]
# A handler's answer, decoded: (status, JSON body, headers).
Invoked = tuple[int, dict[str, Any], dict[str, str]]


class FakeContext:
    """The parts of the Lambda context that Powertools reads, with `remaining_seconds` before the timeout."""

    function_name = "social-sync-unit"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:social-sync-unit"
    aws_request_id = "unit-request"

    def __init__(self, remaining_seconds: float = 10) -> None:
        self.remaining_seconds = remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_seconds * 1000)


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/, the same JSON `sam local invoke -e` sends."""
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return event


def invoke(module: ModuleType, event: dict[str, Any]) -> Invoked:
    """Run a handler and decode its response: (status, JSON body, headers)."""
    result = module.lambda_handler(event, FakeContext())
    body: dict[str, Any] = json.loads(result["body"])
    return result["statusCode"], body, result.get("headers", {})


def run_dispatcher(function: Functions) -> dict[str, Any]:
    """Invoke the scheduled sync's dispatcher function as EventBridge does; its summary."""
    result: dict[str, Any] = function("ScheduledSyncFunction").lambda_handler({}, FakeContext(60))
    return result


def http_event(
    method: str, path: str, body: Any = None, sub: str | None = "alice", **extra: Any
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event as API Gateway builds it after the JWT authorizer let it through."""
    route_key = f"{method} {path}"
    authorizer = (
        {"jwt": {"claims": {"sub": sub, "iss": "https://issuer.example"}, "scopes": None}} if sub else None
    )
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "authorization": "Bearer redacted"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "test",
            },
            "requestId": "req-1",
            "routeKey": route_key,
            "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795514400000,
        },
        "isBase64Encoded": False,
    }
    if authorizer:
        event["requestContext"]["authorizer"] = authorizer
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    event.update(extra)
    return event


# --- Requests through the handlers.


def sync(
    function: Functions,
    platform: str,
    body: Any,
    sub: str | None = "alice",
    idempotency_key: str | None = None,
    **extra: Any,
) -> Invoked:
    """POST a sync body to a platform's function (`/profiles/social-sync/<platform>`); the test checks the
    status. `extra` goes into the event as `http_event` takes it."""
    event = http_event("POST", f"{SYNC_PATH}/{platform}", body, sub=sub, **extra)
    if idempotency_key is not None:
        event["headers"]["idempotency-key"] = idempotency_key
    return invoke(function(PLATFORM_FUNCTIONS[platform]), event)


def synced(
    function: Functions, platform: str, body: Any, sub: str = "alice", idempotency_key: str | None = None
) -> dict[str, Any]:
    """Given-step: a sync that must succeed. Asserts 200 and returns the response body."""
    status, answer, _ = sync(function, platform, body, sub=sub, idempotency_key=idempotency_key)
    assert status == 200, answer
    return answer


def sync_all(function: Functions, body: Any, sub: str = "alice") -> Invoked:
    """POST a "sync all" body (`/profiles/social-sync`); the test checks the status."""
    return invoke(function("SyncAllFunction"), http_event("POST", SYNC_PATH, body, sub=sub))


def get_history(function: Functions, sub: str = "alice", **params: Any) -> Invoked:
    """GET the caller's growth history with these query parameters; the test checks the status."""
    event = http_event("GET", HISTORY_PATH, sub=sub, rawQueryString=urlencode(params))
    event["queryStringParameters"] = {key: str(value) for key, value in params.items()} or None
    return invoke(function("GetStatsHistoryFunction"), event)


def sync_over_http(stack: LocalStack, user: str, platform: str, body: Any) -> Reply:
    """POST a sync body to a platform's route of a running local API as `user`; the test checks the
    status."""
    return stack.request("POST", f"{SYNC_PATH}/{platform}", body, token=stack.token(user))


def synced_over_http(stack: LocalStack, user: str, platform: str, body: Any) -> dict[str, Any]:
    """Given-step over HTTP: a sync that must succeed. Asserts 200 and returns the response body."""
    reply = sync_over_http(stack, user, platform, body)
    assert reply.status == 200, reply.body
    answer: dict[str, Any] = reply.json()
    return answer


def history_cursor(value: Any) -> str:
    """A history `cursor` as the API writes one: `value` as JSON, in URL-safe base64 without padding."""
    return raw_history_cursor(json.dumps(value))


def raw_history_cursor(text: str) -> str:
    """`text` as it is (JSON or not), encoded the way a history `cursor` is."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


# --- Reads of the moto table, as DynamoDB holds it.


def table_items(dynamodb: Any) -> list[dict[str, Any]]:
    """Every item of the profiles table in key order, the shared RapidAPI plan's bookkeeping too."""
    items: list[dict[str, Any]] = dynamodb.scan(TableName=TABLE_NAME, ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def history_items(dynamodb: Any, user: str = "alice") -> list[dict[str, Any]]:
    """A user's HISTORY# items, in key order."""
    items: list[dict[str, Any]] = dynamodb.query(
        TableName=TABLE_NAME,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :history)",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user}"}, ":history": {"S": "HISTORY#"}},
    )["Items"]
    return items


# --- The aggregates, computed independently of the layer.


def expected_avg_engagement(entries: Iterable[dict[str, Any]]) -> float:
    """The README's avgEngagement of wire entries (`followers`, `engagement`), computed exactly in Decimal:
    sum(f * e) / sum(f) over the entries whose engagement is known, their plain mean when they have no
    followers, 0 when none is known; rounded half-up to 2 places, so the check cannot drift."""
    known = [
        (Decimal(r.get("followers", 0)), Decimal(str(r["engagement"]))) for r in entries if "engagement" in r
    ]
    if not known:
        return 0.0
    weight = sum((followers for followers, _ in known), Decimal(0))
    if weight == 0:
        rate = sum((engagement for _, engagement in known), Decimal(0)) / len(known)
    else:
        rate = sum((followers * engagement for followers, engagement in known), Decimal(0)) / weight
    return float(rate.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def assert_aggregates_match_breakdown(profile: dict[str, Any]) -> None:
    """A wire profile's totalFollowers and avgEngagement are those of its platformBreakdown."""
    stats = profile["stats"]
    breakdown = stats["platformBreakdown"]
    assert stats["totalFollowers"] == sum(p["followers"] for p in breakdown.values())
    assert stats["avgEngagement"] == expected_avg_engagement(breakdown.values())


# --- Servers on 127.0.0.1.


def served_fake_vendors() -> Iterator[tuple[FakeRapidApi, str]]:
    """The fake vendors (RapidAPI's hosts, the YouTube Data API) served on 127.0.0.1, and their URL, for
    a fixture to yield from."""
    fake = FakeRapidApi()
    with fake.serve() as url:
        yield fake, url


# --- The local stack (tests/integration).


def all_at_once(count: int, send: Callable[[int], Reply]) -> list[Reply]:
    """Fire `count` requests released together by a barrier, and collect the replies in order."""
    gate = threading.Barrier(count)

    def fire(index: int) -> Reply:
        gate.wait()
        return send(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(fire, range(count)))


def user_shell_environment(**variables: str) -> dict[str, str]:
    """The environment a developer's shell would give `make` (none of an outer make's own variables)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k != "MFLAGS"}
    environment.update(variables)
    return environment


# The fake RapidAPI plan's rate for `sync_now`, one budget for every worker (and route) through DynamoDB.
PLAN_RATE = 20.0


def sync_now(stack: LocalStack, base_url: str) -> dict[str, Any]:
    """Run `python -m localrun.sync_now` (what `make sync-now` runs) against the stack; its JSON summary.
    Asserts that it exits 0.

    The fake at `base_url` answers for RapidAPI and for the YouTube Data API.
    """
    from localrun.settings import REPO_ROOT
    from tests.integration.stack import stack_environment

    environment = stack_environment(
        {
            "DYNAMODB_PORT": str(stack.dynamodb_port),
            "LOCALRUN_STATE_DIR": str(stack.state_dir),
            "RAPIDAPI_BASE_URL": base_url,
            "YOUTUBE_BASE_URL": base_url,
            "RAPIDAPI_REQUESTS_PER_SECOND": str(PLAN_RATE),
        }
    )
    environment.pop("RAPIDAPI_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "localrun.sync_now"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    return summary


# --- template.yaml as CloudFormation deploys it.


@cache
def translated(parameters: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The CloudFormation the SAM transform makes of template.yaml (in us-east-1, with no AWS call), given
    these parameter values (name, value) or the defaults."""
    import boto3
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    # A JSON round trip turns cfn-lint's node types into plain dicts and strings the translator copies freely.
    source = json.loads(json.dumps(copy.deepcopy(template())))
    for resource in source["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            # Like `sam validate`: the transform takes only S3 locations, which `sam package` puts there.
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://sam-artifacts/{properties[key]}"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    result: dict[str, Any] = translator.translate(
        source, parameter_values=dict(parameters), get_managed_policy_map=dict
    )
    return result


def cfn_resources(kind: str) -> dict[str, dict[str, Any]]:
    """The translated template's resources of one CloudFormation type, by logical id."""
    return {name: r for name, r in translated()["Resources"].items() if r["Type"] == kind}
