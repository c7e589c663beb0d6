"""Profile logic: takes and returns models, never touches DynamoDB (it is handed repositories)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from social_sync.aggregates import average_engagement, total_followers
from social_sync.errors import (
    AccountNotVerified,
    ClientStatsRefused,
    ConcurrentUpdateConflict,
    DomainError,
    ProfileNotFound,
    SyncTooSoon,
)
from social_sync.models import (
    HistoryEntry,
    Platform,
    PlatformReading,
    PlatformStats,
    Profile,
    ProfileStats,
    ProfileUpdate,
    SocialSyncRequest,
    Trigger,
)
from social_sync.ownership import is_verified, without_unlinked
from social_sync.settings import EngagementAverage, Settings

if TYPE_CHECKING:
    from social_sync.models import FetchedAccount
    from social_sync.protocols import AccountFetcher, FetchReservations, Profiles, StatsPublisher

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SYNC_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}


def compute_stats(breakdown: dict[str, PlatformStats], mode: EngagementAverage) -> ProfileStats:
    """The stats block for a breakdown: the aggregates are always derived, never carried over."""
    return ProfileStats(
        platform_breakdown=breakdown,
        total_followers=total_followers(breakdown),
        avg_engagement=average_engagement(breakdown, mode),
    )


def apply_sync(
    profile: Profile | None,
    user_id: str,
    platform: str,
    reading: PlatformReading,
    *,
    now: datetime,
    trigger: Trigger,
    mode: EngagementAverage,
    cooldown_seconds: int,
) -> tuple[Profile, HistoryEntry]:
    """The profile with one platform's numbers merged in and its aggregates recomputed, and the history point.

    A number the reading leaves out keeps the stored one. A user with no profile gets one.
    The numbers are marked verified when they were fetched from the account the user verified.
    Raises SyncTooSoon when the platform was synced less than `cooldown_seconds` ago.
    """
    if profile is None:
        profile = Profile(user_id=user_id, created_at=now, updated_at=now)
    ensure_cooldown_passed(profile, platform, now, cooldown_seconds)
    previous = profile.stats.platform_breakdown.get(platform)
    entry = PlatformStats(
        followers=reading.followers if reading.followers is not None else previous and previous.followers,
        engagement=reading.engagement if reading.engagement is not None else previous and previous.engagement,
        last_synced_at=now,
        source=reading.source,
        verified=reading.handle is not None and is_verified(profile, platform, reading.handle),
    )
    breakdown = {**profile.stats.platform_breakdown, platform: entry}
    updated = profile.model_copy(update={"stats": compute_stats(breakdown, mode), "updated_at": now})
    point = HistoryEntry(
        platform=platform,
        followers=entry.followers,
        engagement=entry.engagement,
        source=entry.source,
        trigger=trigger,
        synced_at=now,
    )
    return updated, point


def ensure_cooldown_passed(
    profile: Profile | None, platform: str, now: datetime, cooldown_seconds: int
) -> None:
    """Raises SyncTooSoon when `platform` was synced less than `cooldown_seconds` before `now`."""
    previous = profile.stats.platform_breakdown.get(platform) if profile else None
    if previous is not None and cooldown_seconds > 0:
        ready_at = previous.last_synced_at + timedelta(seconds=cooldown_seconds)
        if now < ready_at:
            raise SyncTooSoon(platform, math.ceil((ready_at - now).total_seconds()))


def client_reading(settings: Settings, request: SocialSyncRequest) -> PlatformReading:
    """The numbers a numbers-kind sync body carries, if this deployment accepts numbers from clients."""
    if not settings.allow_client_reported_stats:
        raise ClientStatsRefused(
            "This deployment only accepts numbers it fetches itself; send usernameOrId instead"
        )
    return PlatformReading(followers=request.followers, engagement=request.engagement, source="client")


def fetch_accounts(
    fetch: AccountFetcher, handles: Mapping[Platform, str]
) -> dict[Platform, FetchedAccount | DomainError]:
    """Each platform's account, or the domain error its fetch ended in; the platforms are fetched at once.

    One platform failing never stops the others; errors that are not domain errors propagate.
    """
    if len(handles) == 1:
        [(platform, handle)] = handles.items()
        try:
            return {platform: fetch(platform, handle)}
        except DomainError as error:
            return {platform: error}
    # Imported here: a numbers-only sync never fetches, and cold starts should not pay for it.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(handles) or 1) as pool:
        futures = {platform: pool.submit(fetch, platform, handle) for platform, handle in handles.items()}
    results: dict[Platform, FetchedAccount | DomainError] = {}
    for platform, future in futures.items():
        failure = future.exception()
        if failure is not None and not isinstance(failure, DomainError):
            raise failure
        results[platform] = failure if isinstance(failure, DomainError) else future.result()
    return results


def request_readings(
    profiles: Profiles,
    reservations: FetchReservations,
    settings: Settings,
    user_id: str,
    requests: Mapping[Platform, SocialSyncRequest],
    fetch: AccountFetcher,
    now: datetime,
) -> tuple[dict[Platform, PlatformReading], dict[Platform, str]]:
    """The readings sync bodies stand for, and the handles to remember in linkedAccounts.

    A numbers body gives the client's numbers (if the deployment accepts them); a handle body
    gives the numbers RapidAPI reports for that account, never any from the request. The
    cooldown (and, where the deployment requires it, the account's verification) is checked, then
    the cooldown is reserved in one conditional write per platform, before fetching: parallel syncs
    of a platform fetch once, and a refused sync spends no RapidAPI request. If any fetch fails, its
    error is raised, the reservations are given back and nothing is stored.
    """
    readings = {
        platform: client_reading(settings, request)
        for platform, request in requests.items()
        if request.username_or_id is None
    }
    handles = {
        platform: request.username_or_id
        for platform, request in requests.items()
        if request.username_or_id is not None
    }
    if not handles:
        return readings, {}
    profile = profiles.get(user_id)
    for platform, handle in handles.items():
        ensure_cooldown_passed(profile, platform, now, settings.sync_cooldown_seconds)
        if settings.require_verified_accounts and not is_verified(profile, platform, handle):
            raise not_verified(platform, handle)
    reserved = reserve_fetches(reservations, user_id, list(handles), now, settings.sync_cooldown_seconds)
    linked = {}
    try:
        for platform, result in fetch_accounts(fetch, handles).items():
            if isinstance(result, DomainError):
                raise result
            readings[platform] = result.reading()
            linked[platform] = result.handle
    except Exception:
        for platform, until in reserved.items():
            reservations.release_fetch(user_id, platform, until)
        raise
    return readings, linked


def not_verified(platform: str, handle: str) -> AccountNotVerified:
    """The refusal of an account the caller has not verified, saying how to verify it."""
    return AccountNotVerified(
        f"This deployment syncs only accounts verified as yours, and {platform.capitalize()} "
        f"account {handle} is not. Verify it: POST /api/v1/profiles/me/linked-accounts/{platform}"
        f'/code with {{"handle": "{handle}"}}, put the code anywhere in the account\'s bio, then '
        f"POST /api/v1/profiles/me/linked-accounts/{platform}/verify with the same body"
    )


def reserve_fetches(
    reservations: FetchReservations,
    user_id: str,
    platforms: list[Platform],
    now: datetime,
    cooldown_seconds: int,
) -> dict[Platform, datetime]:
    """Reserve each platform's fetch for the cooldown; SyncTooSoon (nothing kept) if one is already held."""
    reserved: dict[Platform, datetime] = {}
    if cooldown_seconds <= 0:
        return reserved
    until = now + timedelta(seconds=cooldown_seconds)
    for platform in platforms:
        held_until = reservations.reserve_fetch(user_id, platform, now, until)
        if held_until is not None:
            for taken, taken_until in reserved.items():
                reservations.release_fetch(user_id, taken, taken_until)
            raise SyncTooSoon(platform, max(1, math.ceil((held_until - now).total_seconds())))
        reserved[platform] = until
    return reserved


def next_due_at(due: datetime, frequency: str, now: datetime) -> datetime:
    """The first refresh time after `now` on the schedule that starts at `due` and repeats every `frequency`.

    Anchored to `due`, so a daily refresh keeps its time of day; periods missed while the
    refresh could not run are skipped, not caught up one by one.
    """
    period = SYNC_PERIODS.get(frequency, SYNC_PERIODS["daily"])
    missed = max(0, (now - due) // period)
    return due + (missed + 1) * period


def sync_platforms(
    profiles: Profiles,
    settings: Settings,
    user_id: str,
    readings: dict[Platform, PlatformReading],
    now: Callable[[], datetime],
    trigger: Trigger = "user",
    *,
    publisher: StatsPublisher | None = None,
    link: Mapping[Platform, str] | None = None,
    advance_schedule: bool = False,
) -> Profile:
    """Merge several platforms' numbers into a profile in one atomic write: all land or none.

    In the same write, `link` records handles in linkedAccounts (linking another account than
    the verified one ends that verification), and `advance_schedule` moves
    the profile's next scheduled refresh on by its frequency (the scheduled sync, once every
    linked platform is fresh). After the write, `publisher` (if any) announces it; it never
    fails or undoes the sync.
    """

    def change(profile: Profile | None) -> tuple[Profile, list[HistoryEntry]]:
        moment = now()
        points = []
        for platform, reading in readings.items():
            # Checked again on the profile being written: the account may have been taken over since.
            handle = reading.handle
            if settings.require_verified_accounts and handle and not is_verified(profile, platform, handle):
                raise not_verified(platform, handle)
            profile, point = apply_sync(
                profile,
                user_id,
                platform,
                reading,
                now=moment,
                trigger=trigger,
                mode=settings.engagement_average,
                cooldown_seconds=settings.sync_cooldown_seconds,
            )
            points.append(point)
        if profile is None:
            raise ValueError("a sync carries at least one platform")
        if link:
            profile = without_unlinked(
                profile.model_copy(update={"linked_accounts": {**(profile.linked_accounts or {}), **link}})
            )
        if advance_schedule and profile.sync_due_at is not None:
            frequency = str((profile.sync_settings or {}).get("frequency", "daily"))
            due = next_due_at(profile.sync_due_at, frequency, moment)
            profile = profile.model_copy(update={"sync_due_at": due, "sync_dispatch_at": due})
        return profile, points

    saved = profiles.change(user_id, change)
    if publisher is not None and readings:
        sources = {reading.source for reading in readings.values()}
        publisher.stats_synced(saved, readings, "rapidapi" if sources == {"rapidapi"} else "client")
    return saved


def get_profile(profiles: Profiles, user_id: str) -> Profile:
    """The caller's profile; ProfileNotFound before their first sync or update."""
    profile = profiles.get(user_id)
    if profile is None:
        raise ProfileNotFound("No profile yet: sync a platform or update your profile to create it")
    return profile


def update_profile(
    profiles: Profiles, user_id: str, update: ProfileUpdate, now: datetime, *, attempts: int
) -> Profile:
    """Set the editable fields the update carries; creates the profile if the user has none.

    Turning syncSettings.autoSync on schedules a refresh now (unless one is already scheduled);
    turning it off takes the profile off the schedule. A linkedAccounts change that unlinks a
    verified account ends its verification in the same write, made only if the profile is still
    the one read (else read again, up to `attempts` times).
    """
    auto_sync = update.sync_settings.auto_sync if update.sync_settings is not None else None
    # autoSync on: due now, unless the profile is already on the schedule; off: off the schedule.
    schedule_from, unschedule = (now if auto_sync else None), auto_sync is False
    if update.linked_accounts is None:
        return profiles.update_fields(
            user_id, update.changes(), now, schedule_from=schedule_from, unschedule=unschedule
        )
    for _ in range(attempts):
        current = profiles.get(user_id)
        changes = update.changes()
        if current is not None and current.verified_accounts:
            relinked = without_unlinked(
                current.model_copy(update={"linked_accounts": update.linked_accounts})
            )
            if relinked.verified_accounts != current.verified_accounts:
                changes["verifiedAccounts"] = relinked.to_wire().get("verifiedAccounts")
                changes["stats"] = relinked.stats.to_wire()
        # Conditional even when nothing is unverified: a verification landing in between must be seen.
        expected = current.version if current is not None else 0
        try:
            return profiles.update_fields(
                user_id,
                changes,
                now,
                schedule_from=schedule_from,
                unschedule=unschedule,
                expected_version=expected,
            )
        except ConcurrentUpdateConflict:
            continue
    raise ConcurrentUpdateConflict("The profile is being changed by several requests at once; try again")
