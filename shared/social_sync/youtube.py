"""YouTube numbers from the YouTube Data API v3, and the daily quota budget they are spent from.

One fetch is at most three list calls of one quota unit each (Google's documented cost):
`channels.list` (part snippet, statistics, contentDetails; `forHandle=@handle`, or `id=` for a
UC... channel id), then, for engagement, `playlistItems.list` of the channel's uploads playlist
(the latest 12) and `videos.list` of those videos' statistics. The calls go through the same
client and request loop as RapidAPI's (social_sync.rapidapi); the answers are read by
social_sync.providers.parse_youtube.

Google's quota is per project and per day, reset at midnight Pacific time. Every attempt first
takes a unit from a counter shared by every container (a DynamoDB item per Pacific day, updated
conditionally so it never passes the budget); once the budget is spent, fetches stop with
FetchLimitReached (429) and a Retry-After that runs to Google's reset.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from social_sync.errors import AccountNotFound, QuotaExhausted
from social_sync.providers import RECENT_POSTS, YOUTUBE_CHANNEL_ID, youtube_channel

if TYPE_CHECKING:
    from social_sync.protocols import QuotaCounter

logger = Logger(child=True)

# The layer ships the tzdata package, so this works where the system has no zone files.
PACIFIC = ZoneInfo("America/Los_Angeles")
UNITS_PER_CALL = 1
_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_PLAYLIST_ID = re.compile(r"^[A-Za-z0-9_-]{2,64}$")
# A day's counter outlives its day by this much (DynamoDB TTL removes it afterwards).
COUNTER_KEPT = timedelta(days=2)


class YouTubeGet(Protocol):
    """One list call: `resource` ("channels", ...) with `params`, for `handle`; the JSON answer."""

    def __call__(self, resource: str, params: dict[str, str], handle: str) -> Any: ...


def fetch_channel(get: YouTubeGet, handle: str) -> dict[str, Any]:
    """The answers parse_youtube reads: {"channels": ..., "videos": ...} ("videos" only when there are any).

    No further call is made for a channel that does not exist or hides its subscribers, so those
    cost one unit.
    """
    selector = {"id": handle} if YOUTUBE_CHANNEL_ID.match(handle) else {"forHandle": f"@{handle}"}
    channels = get("channels", {"part": "snippet,statistics,contentDetails", **selector}, handle)
    payload: dict[str, Any] = {"channels": channels}
    uploads = _uploads_playlist(channels)
    if uploads is None:
        return payload
    try:
        listed = get(
            "playlistItems",
            {"part": "contentDetails", "playlistId": uploads, "maxResults": str(RECENT_POSTS)},
            handle,
        )
    except AccountNotFound:
        # A channel that never uploaded has no uploads playlist to list: engagement stays unknown.
        return payload
    video_ids = _video_ids(listed)
    if video_ids:
        payload["videos"] = get("videos", {"part": "statistics", "id": ",".join(video_ids)}, handle)
    return payload


class _PlaylistItemDetails(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    video_id: str | None = Field(default=None, alias="videoId")


class _PlaylistItem(BaseModel):
    content_details: _PlaylistItemDetails | None = Field(default=None, alias="contentDetails")


class _PlaylistItems(BaseModel):
    items: list[_PlaylistItem] = Field(default_factory=list)


def _uploads_playlist(channels: Any) -> str | None:
    # Only a channel whose subscribers are shown is worth the two calls engagement takes.
    try:
        channel = youtube_channel(channels)
    except ValidationError:
        return None  # parse_youtube says what is wrong with it
    if channel is None or channel.statistics is None or channel.statistics.hidden_subscriber_count:
        return None
    details = channel.content_details
    uploads = details.related_playlists.uploads if details and details.related_playlists else None
    return uploads if uploads and _PLAYLIST_ID.match(uploads) else None


def _video_ids(listed: Any) -> list[str]:
    try:
        items = _PlaylistItems.model_validate(listed).items
    except ValidationError:
        return []
    ids = (item.content_details.video_id for item in items if item.content_details)
    return [video for video in ids if video and _VIDEO_ID.match(video)][:RECENT_POSTS]


# --- The daily quota.


def pacific_day(now: datetime) -> tuple[str, int]:
    """The Pacific date of `now` ("2026-11-29"), and whole seconds until its midnight (Google's reset)."""
    local = now.astimezone(PACIFIC)
    reset = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PACIFIC)
    return local.date().isoformat(), max(1, math.ceil((reset - now).total_seconds()))


class DailyQuota:
    """YouTube's daily budget in quota units, shared by every container through `counter`."""

    def __init__(
        self,
        counter: QuotaCounter,
        limit: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._counter = counter
        self._limit = limit
        self._now = now

    def spend(self, units: int = UNITS_PER_CALL) -> None:
        """Take `units` from today's budget, or raise QuotaExhausted with the seconds until the reset."""
        now = self._now()
        day, until_reset = pacific_day(now)
        expires_at = int((now + COUNTER_KEPT).timestamp())
        if not self._counter.spend_units(f"quota#youtube#{day}", units, self._limit, expires_at):
            logger.warning("YouTube daily quota spent", extra={"day": day, "limit": self._limit})
            raise QuotaExhausted(
                f"Today's YouTube Data API quota ({self._limit:,} units) is spent; it resets at midnight "
                f"Pacific time, in {until_reset} seconds",
                until_reset,
            )
