"""The scheduled sync's logic: which profiles are due, and refreshing one of them.

A profile with syncSettings.autoSync is due at its syncDueAt. Every tick, the dispatcher reads
the due profiles from an index, claims each one (so the next tick does not send it again while
its worker is busy) and queues it. The worker refreshes every linked platform that is not fresh
yet, writing through the same code path as the HTTP sync. Its next due time moves on only when
every platform is fresh, so a failed platform is retried (by SQS, then by a later tick) without
fetching the ones that already succeeded again.

No AWS here: the repositories, the queue and the fetcher are handed in (social_sync.container builds them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from social_sync.errors import AccountNotFound, DomainError, FetchLimitReached
from social_sync.models import MAX_USER_ID_LENGTH, PLATFORMS, DispatchReport, Platform, Profile, RefreshReport
from social_sync.ownership import verified_handle
from social_sync.profiles import fetch_accounts, sync_platforms

if TYPE_CHECKING:
    from social_sync.protocols import AccountFetcher, Profiles, RefreshQueue, ScheduleIndex, StatsPublisher
    from social_sync.settings import Settings

# SQS SendMessageBatch takes at most this many messages.
QUEUE_BATCH = 10


def dispatch_due_profiles(
    index: ScheduleIndex,
    queue: RefreshQueue,
    now: datetime,
    *,
    claim_seconds: int,
    time_left: Callable[[], float] = lambda: float("inf"),
    reserve_seconds: float = 10.0,
) -> DispatchReport:
    """Claim every due profile and queue it, in batches of QUEUE_BATCH.

    A claim holds the profile for `claim_seconds`: long enough for the worker and SQS's
    retries, after which a profile whose refresh never succeeded is due again. A profile is
    claimed before it is queued, so a crash in between delays its refresh but never doubles it;
    one that no message could carry is never claimed, so it cannot hold its batch back.
    """
    report = DispatchReport()
    batch: list[str] = []
    until = now + timedelta(seconds=claim_seconds)
    for due in index.due_profiles(now):
        report.due += 1
        if report.oldest_due is None or due.dispatch_at < report.oldest_due:
            report.oldest_due = due.dispatch_at
        if time_left() < reserve_seconds:
            report.deferred = True
            break
        if not is_sendable(due.user_id):
            report.unsendable.append(due.user_id[:64])
            continue
        if not index.claim_for_dispatch(due.user_id, due.dispatch_at, until):
            report.skipped += 1
            continue
        batch.append(due.user_id)
        if len(batch) == QUEUE_BATCH:
            queue.send(batch)
            report.sent += batch
            batch = []
    if batch:
        queue.send(batch)
        report.sent += batch
    return report


def is_sendable(user_id: str) -> bool:
    """Whether a refresh message can carry this user id (models.RefreshMessage)."""
    return 1 <= len(user_id) <= MAX_USER_ID_LENGTH


class RefreshIncomplete(Exception):
    """Some platforms of a profile failed at RapidAPI; the others were saved. Retry the message."""

    def __init__(self, report: RefreshReport) -> None:
        super().__init__(f"{len(report.failed)} platform(s) failed: {', '.join(sorted(report.failed))}")
        self.report = report


def refresh_profile(
    profiles: Profiles,
    settings: Settings,
    fetch: AccountFetcher,
    user_id: str,
    now: Callable[[], datetime],
    *,
    publisher: StatsPublisher | None = None,
) -> RefreshReport:
    """Fetch every linked platform of a due profile that is not fresh yet and save what came back.

    The successful platforms are written in one atomic write through sync_platforms (trigger
    "schedule"), whatever happened to the others. When every platform is fresh, the same write moves
    the next due time on. Raises RefreshIncomplete after saving when some platform failed; a platform
    whose request budget is spent leaves the profile due, for a later tick, without failing.
    """
    report = RefreshReport(user_id=user_id)
    profile = profiles.get(user_id)
    moment = now()
    if profile is None or profile.sync_due_at is None or profile.sync_due_at > moment:
        report.skipped = True
        return report
    handles = {}
    for platform, handle in linked_platforms(profile, verified_only=settings.require_verified_accounts):
        if is_fresh(profile, platform, profile.sync_due_at, moment, settings.sync_cooldown_seconds):
            report.fresh.append(platform)
        else:
            handles[platform] = handle
    readings = {}
    for platform, result in fetch_accounts(fetch, handles).items():
        if isinstance(result, AccountNotFound):
            report.not_found.append(platform)
        elif isinstance(result, FetchLimitReached):
            report.limited.append(platform)
        elif isinstance(result, DomainError):
            report.failed[platform] = result.message
        else:
            readings[platform] = result.reading()
    complete = not report.failed and not report.limited
    if readings or complete:
        saved = sync_platforms(
            profiles,
            settings,
            user_id,
            readings,
            now,
            trigger="schedule",
            publisher=publisher,
            advance_schedule=complete,
        )
        report.refreshed = sorted(readings)
        report.rescheduled_to = saved.sync_due_at if complete else None
    if report.failed:
        raise RefreshIncomplete(report)
    return report


def linked_platforms(profile: Profile, *, verified_only: bool = False) -> Iterable[tuple[Platform, str]]:
    """The profile's linked accounts on the platforms this service syncs, in a stable order.

    A verified account's handle is the one its owner proved; `verified_only` leaves out the others.
    """
    linked = profile.linked_accounts or {}
    accounts = []
    for platform in PLATFORMS:
        handle = verified_handle(profile, platform) or (None if verified_only else linked.get(platform))
        if handle:
            accounts.append((platform, handle))
    return accounts


def is_fresh(profile: Profile, platform: str, due: datetime, now: datetime, cooldown_seconds: int) -> bool:
    """Whether `platform` needs no fetch in this round.

    It is fresh when it was synced at or after the round's due time (by an earlier delivery
    of this message, or by the user), or so recently that a sync would be refused as too soon.
    """
    entry = profile.stats.platform_breakdown.get(platform)
    if entry is None:
        return False
    return entry.last_synced_at >= due or entry.last_synced_at > now - timedelta(seconds=cooldown_seconds)
