"""History logic: a page of the caller's data points, and each platform's growth over the window."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from social_sync.models import PLATFORMS, HistoryEntry, HistoryPage, HistoryQuery, PlatformGrowth
from social_sync.profiles import EPOCH

if TYPE_CHECKING:
    from social_sync.protocols import History


def growth(first: HistoryEntry, last: HistoryEntry) -> PlatformGrowth:
    """The change between a platform's first and last data points; percent only from a non-zero start."""
    change = None
    percent = None
    if first.followers is not None and last.followers is not None:
        change = last.followers - first.followers
        if first.followers:
            percent = round(change * 100 / first.followers, 2)
    return PlatformGrowth(
        points_from=first.synced_at,
        points_to=last.synced_at,
        followers_first=first.followers,
        followers_last=last.followers,
        followers_change=change,
        followers_change_percent=percent,
        engagement_first=first.engagement,
        engagement_last=last.engagement,
    )


def stats_history(history: History, user_id: str, query: HistoryQuery, now: datetime) -> HistoryPage:
    """A page of the caller's data points in time order, and each platform's growth over the window."""
    start = query.start or EPOCH
    end = query.end or now
    if start > end:  # a window wholly in the future, or before 1970: nothing can be in it
        return HistoryPage(history=[], growth={})
    entries, cursor = history.history(user_id, query.platform, start, end, query.limit, query.cursor)
    summary = {}
    for platform in [query.platform] if query.platform else PLATFORMS:
        bounds = history.history_bounds(user_id, platform, start, end)
        if bounds is not None:
            summary[platform] = growth(*bounds)
    return HistoryPage(history=entries, growth=summary, next_cursor=cursor)
