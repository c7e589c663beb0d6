"""What the service reports about itself: CloudWatch metrics and X-Ray subsegments.

Every metric's name and dimensions are here, and the edges call the few functions below
(api.py, http.py, jobs.py, rapidapi.py), so template.yaml's alarms and dashboard, the README and
the code agree on one list. Metrics are CloudWatch embedded metric format (EMF) lines that
Powertools prints to stdout; CloudWatch turns them into metrics in the namespace
POWERTOOLS_METRICS_NAMESPACE with a `service` dimension (POWERTOOLS_SERVICE_NAME), plus a
roll-up without the other dimensions, which the alarms read.

Powertools' metrics module is already imported with its Logger, so this costs nothing at cold start.
Each emission is its own EphemeralMetrics: nothing is shared between the worker's threads, and no
flush at the end of an invocation can be forgotten.

| metric | unit | dimensions | emitted by |
|---|---|---|---|
| Syncs | Count | platform, source, trigger, outcome | every platform of every sync (HTTP or scheduled) |
| Rejections | Count | status | every 4xx answer of the HTTP API's functions |
| VendorRequests | Count | platform, outcome (2xx, 404, 429, 4xx, 5xx, no-answer) | every RapidAPI request |
| VendorFailures | Count | platform, outcome (429, 5xx, no-answer) | the RapidAPI requests that failed |
| VendorLatency | Milliseconds | platform | every RapidAPI request, answered or not |
| VendorQuotaRemaining | Count | platform | RapidAPI answers with x-ratelimit-requests-remaining |
| ScheduledProfilesDue, ScheduledProfilesDispatched | Count | | every dispatcher run |
| OldestDueProfileAgeSeconds | Seconds | | every dispatcher run (0 when none is due) |
| ScheduledProfilesRefreshed, ScheduledProfilesFailed | Count | | every profile the worker takes |
| StatsEventPublishFailures | Count | | a ProfileStatsSynced event that did not reach the bus |
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from social_sync.errors import DomainError, RapidApiError

if TYPE_CHECKING:
    from social_sync.models import DispatchReport, Platform, RefreshReport, SocialSyncRequest, Trigger

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

logger = Logger(child=True)

# The modules whose calls become X-Ray subsegments: DynamoDB, EventBridge, SQS, SSM (botocore) and
# RapidAPI (httpx).
TRACED_MODULES = ("botocore", "httpx")
# Where POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME are not set (template.yaml sets both).
NAMESPACE = "SocialSync"
SERVICE = "social-sync"
# RapidAPI's header for the requests left in the plan's current period.
QUOTA_HEADER = "x-ratelimit-requests-remaining"


def _emit(
    metrics: Mapping[str, tuple[MetricUnit, float]], dimensions: Mapping[str, str] | None = None
) -> None:
    """One EMF line: the metrics under `dimensions` and under the service alone (the roll-up).

    A metric that cannot be written is logged, never raised: it must not fail the request it describes.
    """
    try:
        emf = EphemeralMetrics()
        emf.namespace = emf.namespace or NAMESPACE
        service = emf.service or SERVICE
        emf.add_dimension("service", service)
        for name, value in (dimensions or {}).items():
            emf.add_dimension(name, value)
        if dimensions:
            emf.add_dimensions(service=service)
        for name, (unit, amount) in metrics.items():
            emf.add_metric(name=name, unit=unit, value=amount)
        emf.flush_metrics()
    except Exception as error:
        logger.warning(
            "metric not written", extra={"metrics": sorted(metrics), "error_type": type(error).__name__}
        )


def _count(name: str, **dimensions: str) -> None:
    _emit({name: (MetricUnit.Count, 1)}, dimensions)


# --- Syncs, HTTP and scheduled ---


@contextmanager
def syncing(requests: Mapping[Platform, SocialSyncRequest], trigger: Trigger) -> Iterator[None]:
    """Count each platform of a sync by source and outcome: synced, rejected (a 4xx), failed (RapidAPI
    failed) or error (anything else)."""
    try:
        yield
    except RapidApiError:
        _syncs(requests, trigger, "failed")
        raise
    except DomainError:
        _syncs(requests, trigger, "rejected")
        raise
    except Exception:
        _syncs(requests, trigger, "error")
        raise
    _syncs(requests, trigger, "synced")


def _syncs(requests: Mapping[Platform, SocialSyncRequest], trigger: str, outcome: str) -> None:
    for platform, request in requests.items():
        source = "client" if request.username_or_id is None else "rapidapi"
        _count("Syncs", platform=platform, source=source, trigger=trigger, outcome=outcome)


def rejected(status: int) -> None:
    """An HTTP answer in the 4xx class (400 invalid, 401 no caller, 403 refused, 429 too soon, ...)."""
    if 400 <= status < 500:
        _count("Rejections", status=str(status))


def event_not_published() -> None:
    """A ProfileStatsSynced event that did not reach the bus (the sync itself landed)."""
    _emit({"StatsEventPublishFailures": (MetricUnit.Count, 1)})


# --- RapidAPI ---


class VendorCall:
    """What one RapidAPI request got: a status (None while no answer came) and the quota left."""

    # A plain class, not a dataclass: building a dataclass at import costs the HTTP functions' cold start.
    __slots__ = ("quota_remaining", "status")

    def __init__(self) -> None:
        self.status: int | None = None
        self.quota_remaining: float | None = None

    def answered(self, status: int, headers: Mapping[str, str]) -> None:
        """Record the answer's status and, when RapidAPI says it, the requests left in the plan."""
        self.status = status
        remaining = headers.get(QUOTA_HEADER)
        if remaining is not None and remaining.strip().isdigit():
            self.quota_remaining = float(remaining)


@contextmanager
def vendor_call(platform: Platform) -> Iterator[VendorCall]:
    """Time one RapidAPI request and count its outcome; a request that raised before an answer is
    "no-answer" (timed out or unreachable)."""
    call = VendorCall()
    started = time.perf_counter()
    try:
        yield call
    finally:
        _vendor_metrics(platform, call, (time.perf_counter() - started) * 1000)


def _vendor_metrics(platform: str, call: VendorCall, latency_ms: float) -> None:
    outcome = vendor_outcome(call.status)
    metrics = {
        "VendorRequests": (MetricUnit.Count, 1.0),
        "VendorLatency": (MetricUnit.Milliseconds, latency_ms),
    }
    _emit(metrics, {"platform": platform})
    if outcome in ("429", "5xx", "no-answer"):
        _count("VendorFailures", platform=platform, outcome=outcome)
    if call.quota_remaining is not None:
        _emit({"VendorQuotaRemaining": (MetricUnit.Count, call.quota_remaining)}, {"platform": platform})


def vendor_outcome(status: int | None) -> str:
    """A RapidAPI answer's class: 2xx, 404 (no such account), 429, 4xx, 5xx, or no-answer."""
    if status is None:
        return "no-answer"
    if status in (404, 429):
        return str(status)
    return f"{status // 100}xx"


# --- The scheduled sync ---


def dispatched(report: DispatchReport, now: datetime) -> None:
    """A dispatcher run: the due profiles it saw, those it queued, and how late the oldest is."""
    lag = (now - report.oldest_due).total_seconds() if report.oldest_due else 0.0
    _emit(
        {
            "ScheduledProfilesDue": (MetricUnit.Count, report.due),
            "ScheduledProfilesDispatched": (MetricUnit.Count, len(report.sent)),
            "OldestDueProfileAgeSeconds": (MetricUnit.Seconds, max(0.0, lag)),
        }
    )


def refreshed(report: RefreshReport) -> None:
    """A profile the worker refreshed, each platform counted as a scheduled sync (nothing if not due)."""
    if report.skipped:
        return
    _platform_outcomes(report)
    _emit({"ScheduledProfilesRefreshed": (MetricUnit.Count, 1)})


def refresh_failed(report: RefreshReport | None) -> None:
    """A profile the worker could not refresh whole; SQS delivers it again."""
    if report is not None:
        _platform_outcomes(report)
    _emit({"ScheduledProfilesFailed": (MetricUnit.Count, 1)})


def _platform_outcomes(report: RefreshReport) -> None:
    outcomes = [(p, "synced") for p in report.refreshed]
    outcomes += [(p, "rejected") for p in report.not_found] + [(p, "failed") for p in report.failed]
    for platform, outcome in outcomes:
        _count("Syncs", platform=platform, source="rapidapi", trigger="schedule", outcome=outcome)


# --- X-Ray ---


def xray_sdk_enabled() -> bool:
    """Whether the X-Ray SDK records subsegments: only where POWERTOOLS_TRACE_DISABLED is "false".

    Lambda's active tracing records each invocation whatever this says; the SDK adds a subsegment per
    AWS and RapidAPI call, at a price at cold start (`make bench`), so the template makes it a choice.
    """
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() in ("false", "0")


def traced(handler: HandlerT) -> HandlerT:
    """`handler` under Powertools' Tracer, with botocore and httpx patched, when the SDK is enabled.

    Otherwise `handler` itself, and neither Tracer nor aws_xray_sdk is imported.
    """
    if not xray_sdk_enabled():
        return handler
    from aws_lambda_powertools import Tracer

    tracer = Tracer(auto_patch=False)
    tracer.patch(TRACED_MODULES)
    # Responses carry profiles: keep them out of the trace.
    return cast("HandlerT", tracer.capture_lambda_handler(handler, capture_response=False))
