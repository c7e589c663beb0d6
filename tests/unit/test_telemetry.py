"""The service's metrics (CloudWatch EMF on stdout), read as CloudWatch reads them, and its X-Ray wiring."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from social_sync import telemetry
from social_sync.errors import RapidApiTimeout, SyncTooSoon
from social_sync.models import DispatchReport, RefreshReport, SocialSyncRequest
from social_sync.platforms import Platform
from social_sync.rapidapi import INTERACTIVE, RapidApiClient
from social_sync.settings import Settings
from social_sync.startup import reseed_after_restore
from tests.fake_rapidapi import FakeRapidApi, Reply, pacer
from tests.helpers import PLATFORM_FUNCTIONS, http_event, invoke
from tests.template import ROOT

NAMESPACE = "SocialSyncUnit"


@pytest.fixture
def metrics(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[], list[Emitted]]:
    """The EMF documents printed so far, each flattened to one (metric, dimensions, value) per metric."""
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "social-sync")

    def read() -> list[Emitted]:
        return [metric for line in capsys.readouterr().out.splitlines() for metric in emf(line)]

    return read


Emitted = tuple[str, dict[str, str], float, list[list[str]]]


def emf(line: str) -> list[Emitted]:
    """An EMF document's metrics as CloudWatch reads them: name, dimension values, value, dimension sets."""
    try:
        document = json.loads(line)
    except ValueError:
        return []
    if not isinstance(document, dict) or "_aws" not in document:
        return []
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    names = {name for dimension_set in directive["Dimensions"] for name in dimension_set}
    dimensions = {name: document[name] for name in names}
    found = []
    for metric in directive["Metrics"]:
        [value] = document[metric["Name"]]
        found.append((metric["Name"], dimensions, value, directive["Dimensions"]))
    return found


def named(emitted: list[Emitted], name: str) -> list[Emitted]:
    return [metric for metric in emitted if metric[0] == name]


def test_a_sync_counts_each_platform_by_source_trigger_and_outcome(
    metrics: Callable[[], list[Emitted]],
) -> None:
    # Given a sync of numbers for TikTok and of a handle for Twitch
    requests: dict[Platform, SocialSyncRequest] = {
        "tiktok": SocialSyncRequest(followers=10),
        "twitch": SocialSyncRequest.model_validate({"usernameOrId": "ninja"}),
    }
    # When it lands
    with telemetry.syncing(requests, trigger="user"):
        pass
    # Then each platform is one Syncs count, per platform and rolled up for the service (what alarms read)
    syncs = named(metrics(), "Syncs")
    assert sorted((m[1]["platform"], m[1]["source"], m[1]["outcome"], m[2]) for m in syncs) == [
        ("tiktok", "client", "synced", 1.0),
        ("twitch", "rapidapi", "synced", 1.0),
    ]
    for _, dimensions, _, sets in syncs:
        assert dimensions["trigger"] == "user"
        assert dimensions["service"] == "social-sync"
        assert sets == [["service", "platform", "source", "trigger", "outcome"], ["service"]]


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (SyncTooSoon("too soon", 30), "rejected"),
        (RapidApiTimeout("slow"), "failed"),
        (KeyError("x"), "error"),
    ],
)
def test_a_sync_that_fails_is_counted_by_why_and_the_error_goes_on(
    metrics: Callable[[], list[Emitted]], error: Exception, outcome: str
) -> None:
    with pytest.raises(type(error)), telemetry.syncing({"tiktok": SocialSyncRequest(followers=1)}, "user"):
        raise error
    assert [m[1]["outcome"] for m in named(metrics(), "Syncs")] == [outcome]


def test_rejections_are_counted_by_status_and_only_4xx(metrics: Callable[[], list[Emitted]]) -> None:
    for status in (400, 401, 403, 429, 502, 503):
        telemetry.rejected(status)
    assert [m[1]["status"] for m in named(metrics(), "Rejections")] == ["400", "401", "403", "429"]


def test_a_handler_counts_its_sync_and_its_refusals(
    function: Callable[[str], ModuleType], metrics: Callable[[], list[Emitted]]
) -> None:
    # Given the TikTok function
    module = function(PLATFORM_FUNCTIONS["tiktok"])
    path = "/api/v1/profiles/social-sync/tiktok"
    # When a sync lands and then a body with a wrong type is refused
    assert invoke(module, http_event("POST", path, {"followers": 5}))[0] == 200
    assert invoke(module, http_event("POST", path, {"followers": "5"}))[0] == 400
    # Then the metrics say so
    emitted = metrics()
    assert [(m[1]["platform"], m[1]["outcome"]) for m in named(emitted, "Syncs")] == [("tiktok", "synced")]
    assert [m[1]["status"] for m in named(emitted, "Rejections")] == ["400"]


def rapidapi_client(fake: FakeRapidApi) -> RapidApiClient:
    config = Settings(table_name="unit", rapidapi_key="test-key", rapidapi_requests_per_second=1000)
    return RapidApiClient(
        config,
        policy=INTERACTIVE,
        limiter=pacer(1000),
        transport=fake.transport,
        sleep=lambda _: None,
    )


def test_every_rapidapi_request_is_timed_and_its_failures_and_quota_counted(
    metrics: Callable[[], list[Emitted]],
) -> None:
    # Given RapidAPI that answers 429, then 503, then the account, saying how many requests are left
    fake = FakeRapidApi()
    fake.script(
        "tiktok",
        "charlidamelio",
        Reply(429, b"{}", {"retry-after": "0", "x-ratelimit-requests-remaining": "0"}),
        Reply(503),
    )
    # When the account is fetched
    rapidapi_client(fake).fetch_account("tiktok", "charlidamelio")
    emitted = metrics()
    # Then three requests were counted and timed, two of them failures, and the quota seen is reported
    assert [m[1]["platform"] for m in named(emitted, "VendorRequests")] == ["tiktok"] * 3
    assert all(m[2] >= 0 for m in named(emitted, "VendorLatency"))
    assert [m[1]["outcome"] for m in named(emitted, "VendorFailures")] == ["429", "5xx"]
    assert [m[2] for m in named(emitted, "VendorQuotaRemaining")] == [0.0]


def test_a_rapidapi_request_that_gets_no_answer_is_a_failure(metrics: Callable[[], list[Emitted]]) -> None:
    # Given a vendor that never answers
    fake = FakeRapidApi()
    fake.always("tiktok", "charlidamelio", Reply(timeout=True))
    # When an account is fetched, then it times out
    with pytest.raises(RapidApiTimeout):
        rapidapi_client(fake).fetch_account("tiktok", "charlidamelio")
    # Every attempt timed out, and each is one failure
    assert [m[1]["outcome"] for m in named(metrics(), "VendorFailures")] == ["no-answer"] * fake.count()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(None, "no-answer"), (200, "2xx"), (404, "404"), (429, "429"), (418, "4xx"), (504, "5xx")],
)
def test_vendor_outcomes(status: int | None, outcome: str) -> None:
    assert telemetry.vendor_outcome(status) == outcome


def test_a_dispatch_reports_the_due_the_queued_and_the_oldest_ones_age(
    metrics: Callable[[], list[Emitted]],
) -> None:
    # When a dispatch is reported
    now = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    report = DispatchReport(sent=["a", "b"], skipped=1, due=3, oldest_due=now - timedelta(minutes=20))
    telemetry.dispatched(report, now)
    # Then the due, the dispatched and the oldest one's age are metrics
    values = {m[0]: m[2] for m in metrics()}
    assert values == {
        "ScheduledProfilesDue": 3,
        "ScheduledProfilesDispatched": 2,
        "OldestDueProfileAgeSeconds": 1200,
    }


def test_a_dispatch_with_nothing_due_reports_no_lag(metrics: Callable[[], list[Emitted]]) -> None:
    telemetry.dispatched(DispatchReport(), datetime.now(UTC))
    assert {m[0]: m[2] for m in metrics()}["OldestDueProfileAgeSeconds"] == 0


def test_a_refresh_counts_the_profile_and_each_platform(metrics: Callable[[], list[Emitted]]) -> None:
    # When refreshes succeed, fail, or are skipped
    telemetry.refreshed(RefreshReport(user_id="u", refreshed=["tiktok"], not_found=["twitch"]))
    telemetry.refresh_failed(RefreshReport(user_id="u", failed={"twitter": "down"}))
    telemetry.refresh_failed(None)
    telemetry.refreshed(RefreshReport(user_id="u", skipped=True))
    # Then the profiles and each platform's outcome are counted
    emitted = metrics()
    assert sum(m[2] for m in named(emitted, "ScheduledProfilesRefreshed")) == 1
    assert sum(m[2] for m in named(emitted, "ScheduledProfilesFailed")) == 2
    assert sorted((m[1]["platform"], m[1]["trigger"], m[1]["outcome"]) for m in named(emitted, "Syncs")) == [
        ("tiktok", "schedule", "synced"),
        ("twitch", "schedule", "rejected"),
        ("twitter", "schedule", "failed"),
    ]


def test_without_the_xray_sdk_a_handler_is_left_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a handler
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"ok": True}

    # When tracing is off or not set, then it is not wrapped
    for value in ("true", ""):
        monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
        assert telemetry.traced(handler) is handler
    monkeypatch.delenv("POWERTOOLS_TRACE_DISABLED")
    assert telemetry.traced(handler) is handler


# In a process of its own: patching botocore is for the life of a process.
TRACED_PROBE = """
import json, sys
from social_sync import telemetry
from aws_xray_sdk.core.patcher import _PATCHED_MODULES

def handler(event, context):
    return {"seen": event["n"]}

traced = telemetry.traced(handler)
print(json.dumps({"wrapped": traced is not handler, "answer": traced({"n": 1}, None),
                  "patched": sorted(_PATCHED_MODULES)}))
"""


def test_with_the_xray_sdk_a_handler_runs_under_the_tracer_with_its_calls_patched() -> None:
    # Given the SDK switched on, in an environment that looks like Lambda's
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "shared"),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    # When a handler is traced
    out = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", TRACED_PROBE], env=environment, capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out.splitlines()[-1])
    # Then it is wrapped, still answers, and botocore and httpx calls become subsegments
    assert result == {"wrapped": True, "answer": {"seen": 1}, "patched": sorted(telemetry.TRACED_MODULES)}


def test_snapstart_restores_get_a_fresh_random_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the runtime's hook module, as Lambda's Python runtime has it
    import snapshot_restore_py

    registry: list[Any] = []
    monkeypatch.setattr(snapshot_restore_py, "_after_restore_registry", registry)
    # When init registers its hooks
    assert reseed_after_restore()
    # Then what Lambda runs after a restore gives `random` a new seed: two environments restored from
    # one snapshot (the same state) draw different jitter
    random.seed(7)
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)
        for hook, args, kwargs in registry:
            hook(*args, **kwargs)
        draws.append(random.random())  # noqa: S311 - the jitter's generator is the point
    assert draws[0] != draws[1]


def test_outside_lambda_there_is_no_hook_to_register(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    assert not reseed_after_restore()
