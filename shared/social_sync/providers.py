"""What each platform's endpoint answers, and how that becomes the numbers a profile stores.

A payload is untrusted input. It is parsed with pydantic into only the fields this service uses;
counts must be whole, non-negative and believable, and an answer that says the account does not
exist raises AccountNotFound. Anything else unreadable raises RapidApiUnavailable, so nothing
absurd is ever stored. No I/O here (the HTTP clients are social_sync.rapidapi and
social_sync.youtube); the parsers are tested against recorded payloads in tests/fixtures/.

Each platform's parser is `parse_<platform>`; where its endpoint is and which query parameter
takes the handle is in the registry (social_sync.platforms).

Each parser also reads the account's bio (TikTok `userInfo.user.signature`, Twitter
`legacy.description`, Twitch `description`, Instagram `biography`): a verification code is looked
for there (social_sync.verification).

Instagram Looter answers with Instagram's own web profile object (`edge_followed_by.count`, and
the latest posts under `edge_owner_to_timeline_media.edges`), which is what lets this service
derive an engagement rate from recent posts. YouTube's numbers come from the YouTube Data API v3
itself: social_sync.youtube makes its calls and hands parse_youtube the answers together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from social_sync.errors import AccountNotFound, AccountNumbersHidden, RapidApiUnavailable
from social_sync.models import (
    ACCOUNT_HANDLE,
    MAX_FOLLOWERS,
    FetchedAccount,
    Platform,
)
from social_sync.platforms import platform_spec

# Likes and video counts can run past follower counts, but not past this.
MAX_COUNT = 10**13
# TikTok's statusCode for a handle that does not exist (10202) or a banned account (10221).
TIKTOK_NOT_FOUND = frozenset({10202, 10221})
# Instagram engagement is averaged over at most this many of the latest posts (one profile page's worth).
RECENT_POSTS = 12
# Longer than any platform lets a bio be (Twitch's 300 characters is the longest of the four).
MAX_BIO = 1000
# A YouTube channel id, which a sync may give instead of the channel's @handle.
YOUTUBE_CHANNEL_ID = re.compile(r"^UC[A-Za-z0-9_-]{22}$")
T = TypeVar("T")


def _whole_number(value: Any) -> Any:
    # JSON integers, or decimal strings (TikTok's statsV2 sends exact counts as strings). Booleans
    # and fractions would otherwise be coerced to 1 or truncated; refuse them instead.
    if isinstance(value, bool | float):
        raise ValueError("must be a whole number")
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise ValueError("must be a whole number")
        return int(value)
    return value


Count = Annotated[int, BeforeValidator(_whole_number), Field(strict=True, ge=0, le=MAX_COUNT)]


def _short_text(value: Any) -> Any:
    # Display fields only inform; an overlong one is cut rather than failing the sync.
    return value[:200] if isinstance(value, str) else value


def _http_url(value: Any) -> Any:
    ok = isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2048
    return value if ok else None


def _bio_text(value: Any) -> Any:
    # A bio only ever serves the ownership check: cut a long one, and read any other type as no bio.
    return value[:MAX_BIO] if isinstance(value, str) else None


Text = Annotated[str | None, BeforeValidator(_short_text)]
Url = Annotated[str | None, BeforeValidator(_http_url)]
Bio = Annotated[str | None, BeforeValidator(_bio_text)]


class _Payload(BaseModel):
    # Unknown fields are ignored: vendors add fields all the time.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


# --- TikTok (tiktok-api23): TikTok's own user/detail answer.


class _TikTokStats(_Payload):
    follower_count: Count | None = None
    heart_count: Count | None = None
    heart: Count | None = None
    video_count: Count | None = None

    def likes(self) -> int | None:
        return self.heart_count if self.heart_count is not None else self.heart


class _TikTokUser(_Payload):
    unique_id: Text = None
    nickname: Text = None
    avatar_larger: Url = None
    verified: bool = False
    signature: Bio = None


class _TikTokUserInfo(_Payload):
    user: _TikTokUser | None = None
    stats: _TikTokStats | None = None
    stats_v2: _TikTokStats | None = None


class _TikTokPayload(_Payload):
    status_code: int | None = None
    user_info: _TikTokUserInfo | None = None


def parse_tiktok(handle: str, payload: Any) -> FetchedAccount:
    """userInfo.user and its counts (statsV2, exact strings, over stats, which TikTok rounds).

    Engagement is the average likes per video over followers, in percent; unknown without
    videos or followers.
    """
    page = _TikTokPayload.model_validate(payload)
    info = page.user_info
    if page.status_code in TIKTOK_NOT_FOUND:
        raise AccountNotFound(f"No TikTok account @{handle} was found")
    if info is None or info.user is None:
        raise RapidApiUnavailable(f"RapidAPI's TikTok answer has no user (status {page.status_code})")
    exact, rounded = info.stats_v2 or _TikTokStats(), info.stats or _TikTokStats()
    followers = _first(exact.follower_count, rounded.follower_count)
    if followers is None:
        raise RapidApiUnavailable("RapidAPI's TikTok answer has no follower count")
    likes = _first(exact.likes(), rounded.likes())
    videos = _first(exact.video_count, rounded.video_count)
    engagement = None
    if likes is not None and videos and followers:
        engagement = _percent(likes / videos, followers)
    user = info.user
    return _account(
        "tiktok",
        handle,
        user.unique_id,
        followers,
        engagement,
        user.nickname,
        user.avatar_larger,
        user.verified,
        user.signature,
    )


# --- Twitter (twitter241): X's GraphQL UserByScreenName answer under "result".


class _TwitterLegacy(_Payload):
    model_config = ConfigDict(alias_generator=None)

    followers_count: Count | None = None
    screen_name: Text = None
    name: Text = None
    profile_image_url_https: Url = None
    verified: bool = False
    description: Bio = None


class _TwitterCore(_Payload):
    model_config = ConfigDict(alias_generator=None)

    screen_name: Text = None
    name: Text = None


class _TwitterAvatar(_Payload):
    model_config = ConfigDict(alias_generator=None)

    image_url: Url = None


class _TwitterUserResult(_Payload):
    model_config = ConfigDict(alias_generator=None)

    typename: str | None = Field(default=None, alias="__typename")
    is_blue_verified: bool = False
    legacy: _TwitterLegacy | None = None
    core: _TwitterCore | None = None
    avatar: _TwitterAvatar | None = None


class _TwitterUser(_Payload):
    result: _TwitterUserResult | None = None


class _TwitterData(_Payload):
    user: _TwitterUser | None = None


class _TwitterGraphQL(_Payload):
    data: _TwitterData | None = None


class _TwitterPayload(_Payload):
    result: _TwitterGraphQL | None = None


def parse_twitter(handle: str, payload: Any) -> FetchedAccount:
    """result.data.user.result.legacy.followers_count; engagement is unknown from this endpoint.

    X answers a handle that does not exist with no user at all, and a suspended one with a
    UserUnavailable result: both are AccountNotFound.
    """
    page = _TwitterPayload.model_validate(payload)
    if page.result is None or page.result.data is None:
        raise RapidApiUnavailable("RapidAPI's Twitter answer has no data")
    found = page.result.data.user.result if page.result.data.user else None
    if found is None or found.typename == "UserUnavailable":
        raise AccountNotFound(f"No Twitter account @{handle} was found")
    legacy, core = found.legacy or _TwitterLegacy(), found.core or _TwitterCore()
    if legacy.followers_count is None:
        raise RapidApiUnavailable("RapidAPI's Twitter answer has no follower count")
    return _account(
        "twitter",
        handle,
        _first(core.screen_name, legacy.screen_name),
        legacy.followers_count,
        None,
        _first(core.name, legacy.name),
        _first(found.avatar.image_url if found.avatar else None, legacy.profile_image_url_https),
        found.is_blue_verified or legacy.verified,
        legacy.description,
    )


# --- Twitch (twitch-scraper2): Twitch's GraphQL channel answer.


class _TwitchFollowers(_Payload):
    total_count: Count | None = None


class _TwitchRoles(_Payload):
    is_partner: bool | None = False


class _TwitchUser(_Payload):
    login: Text = None
    display_name: Text = None
    profile_image_url: Url = Field(default=None, alias="profileImageURL")
    description: Bio = None
    followers: _TwitchFollowers | None = None
    roles: _TwitchRoles | None = None


class _TwitchData(_Payload):
    user: _TwitchUser | None = None


class _TwitchPayload(_Payload):
    data: _TwitchData | None = None


def parse_twitch(handle: str, payload: Any) -> FetchedAccount:
    """data.user.followers.totalCount; engagement is unknown. `"user": null` means no such channel."""
    page = _TwitchPayload.model_validate(payload)
    if page.data is None or "user" not in page.data.model_fields_set:
        raise RapidApiUnavailable("RapidAPI's Twitch answer has no user")
    user = page.data.user
    if user is None:
        raise AccountNotFound(f"No Twitch channel {handle} was found")
    followers = user.followers.total_count if user.followers else None
    if followers is None:
        raise RapidApiUnavailable("RapidAPI's Twitch answer has no follower count")
    partner = bool(user.roles and user.roles.is_partner)
    return _account(
        "twitch",
        handle,
        user.login,
        followers,
        None,
        user.display_name,
        user.profile_image_url,
        partner,
        user.description,
    )


# --- Instagram (instagram-looter2): Instagram's web profile object, with the latest posts.


class _InstagramCount(_Payload):
    count: Count | None = None


class _InstagramPost(_Payload):
    model_config = ConfigDict(alias_generator=None)

    edge_liked_by: _InstagramCount | None = None
    edge_media_preview_like: _InstagramCount | None = None
    edge_media_to_comment: _InstagramCount | None = None
    like_and_view_counts_disabled: bool = False

    def interactions(self) -> int | None:
        """Likes plus comments, or None when the owner hides the likes."""
        like_edge = self.edge_liked_by or self.edge_media_preview_like
        likes = like_edge.count if like_edge else None
        if likes is None or self.like_and_view_counts_disabled:
            return None
        comments = self.edge_media_to_comment.count if self.edge_media_to_comment else None
        return likes + (comments or 0)


class _InstagramMedia(_Payload):
    count: Count | None = None
    # Posts stay raw here: one unreadable post is skipped, not a failed sync.
    edges: list[Any] = Field(default_factory=list)


class _InstagramPayload(_Payload):
    model_config = ConfigDict(alias_generator=None)

    status: bool | None = None
    username: Text = None
    full_name: Text = None
    is_verified: bool = False
    biography: Bio = None
    profile_pic_url_hd: Url = None
    profile_pic_url: Url = None
    edge_followed_by: _InstagramCount | None = None
    edge_owner_to_timeline_media: _InstagramMedia | None = None


def parse_instagram(handle: str, payload: Any) -> FetchedAccount:
    """edge_followed_by.count; engagement from the latest posts' likes and comments over followers.

    `"status": false` means no such account. Posts whose likes are hidden do not count; with no
    countable post (a private account, say) engagement is unknown.
    """
    page = _InstagramPayload.model_validate(payload)
    if page.status is False:
        raise AccountNotFound(f"No Instagram account @{handle} was found")
    followers = page.edge_followed_by.count if page.edge_followed_by else None
    if followers is None:
        raise RapidApiUnavailable("RapidAPI's Instagram answer has no follower count")
    media = page.edge_owner_to_timeline_media or _InstagramMedia()
    recent = (_interactions(_InstagramPost, _field(edge, "node")) for edge in media.edges[:RECENT_POSTS])
    interactions = [count for count in recent if count is not None]
    engagement = None
    if interactions and followers:
        engagement = _percent(sum(interactions) / len(interactions), followers)
    return _account(
        "instagram",
        handle,
        page.username,
        followers,
        engagement,
        page.full_name,
        _first(page.profile_pic_url_hd, page.profile_pic_url),
        page.is_verified,
        page.biography,
    )


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else None


def _interactions(model: type[_InstagramPost | _YouTubeVideoStatistics], value: Any) -> int | None:
    """One post's likes plus comments; None when hidden or unreadable (one bad post is skipped)."""
    try:
        return model.model_validate(value).interactions()
    except ValidationError:
        return None


# --- YouTube (the YouTube Data API v3): channels.list, then videos.list of the latest uploads.


class _YouTubeThumbnail(_Payload):
    url: Url = None


class _YouTubeThumbnails(_Payload):
    high: _YouTubeThumbnail | None = None
    default: _YouTubeThumbnail | None = None


class _YouTubeSnippet(_Payload):
    title: Text = None
    description: Bio = None
    custom_url: Text = None
    thumbnails: _YouTubeThumbnails | None = None


class _YouTubeChannelStatistics(_Payload):
    subscriber_count: Count | None = None
    hidden_subscriber_count: bool = False


class _YouTubeRelatedPlaylists(_Payload):
    uploads: Annotated[str, Field(max_length=100)] | None = None


class _YouTubeContentDetails(_Payload):
    related_playlists: _YouTubeRelatedPlaylists | None = None


class _YouTubeChannel(_Payload):
    id: Annotated[str, Field(max_length=100)] | None = None
    snippet: _YouTubeSnippet | None = None
    statistics: _YouTubeChannelStatistics | None = None
    content_details: _YouTubeContentDetails | None = None


class _YouTubeChannelList(_Payload):
    # Google leaves `items` out when nothing matches.
    items: list[_YouTubeChannel] = Field(default_factory=list)


class _YouTubeVideoStatistics(_Payload):
    # Absent when the owner hides likes or turns comments off.
    like_count: Count | None = None
    comment_count: Count | None = None

    def interactions(self) -> int | None:
        """Likes plus comments, or None when the likes are hidden."""
        if self.like_count is None:
            return None
        return self.like_count + (self.comment_count or 0)


def youtube_channel(payload: Any) -> _YouTubeChannel | None:
    """The first channel of a channels.list answer, or None when it has none."""
    page = _YouTubeChannelList.model_validate(payload)
    return page.items[0] if page.items else None


def parse_youtube(handle: str, payload: Any) -> FetchedAccount:
    """`{"channels": <channels.list answer>, "videos": <videos.list answer, if any>}`.

    Followers are statistics.subscriberCount; a channel that hides it is AccountNumbersHidden (a
    404, nothing stored). Engagement is the average likes plus comments per video, over the
    latest uploads whose likes are shown, over subscribers, in percent; unknown without them.
    """
    if not isinstance(payload, dict):
        raise RapidApiUnavailable("The YouTube Data API's answer is not an object")
    channel = youtube_channel(payload.get("channels"))
    if channel is None:
        raise AccountNotFound(f"No YouTube channel {_youtube_name(handle)} was found")
    statistics = channel.statistics or _YouTubeChannelStatistics()
    if statistics.hidden_subscriber_count:
        raise AccountNumbersHidden(
            f"The YouTube channel {_youtube_name(handle)} hides its subscriber count; nothing was stored"
        )
    followers = statistics.subscriber_count
    if followers is None:
        raise RapidApiUnavailable("The YouTube Data API's answer has no subscriber count")
    items = _field(payload.get("videos"), "items")
    videos = items[:RECENT_POSTS] if isinstance(items, list) else []
    recent = (_interactions(_YouTubeVideoStatistics, _field(item, "statistics")) for item in videos)
    interactions = [count for count in recent if count is not None]
    engagement = None
    if interactions and followers:
        engagement = _percent(sum(interactions) / len(interactions), followers)
    snippet = channel.snippet or _YouTubeSnippet()
    thumbnails = snippet.thumbnails or _YouTubeThumbnails()
    reported = snippet.custom_url.removeprefix("@") if snippet.custom_url else None
    return _account(
        "youtube",
        handle,
        reported,
        followers,
        engagement,
        snippet.title,
        _first(
            thumbnails.high.url if thumbnails.high else None,
            thumbnails.default.url if thumbnails.default else None,
        ),
        False,
        snippet.description,
    )


def _youtube_name(handle: str) -> str:
    return handle if YOUTUBE_CHANNEL_ID.match(handle) else f"@{handle}"


# --- Shared.


def parse_account(platform: Platform, handle: str, payload: Any) -> FetchedAccount:
    """The account in `payload`, RapidAPI's answer for `handle` on `platform`.

    Raises AccountNotFound when the answer says there is no such account, and
    RapidApiUnavailable when it cannot be read or its numbers are not believable.
    """
    spec = platform_spec(platform)
    parse = cast("Callable[[str, Any], FetchedAccount]", globals()[spec.parser_name])
    try:
        return parse(handle, payload)
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in detail["loc"]) for detail in error.errors()})
        raise RapidApiUnavailable(
            f"{spec.vendor_name}'s {spec.display_name} answer could not be read ({', '.join(fields)[:200]})"
        ) from error


def _account(
    platform: Platform,
    requested: str,
    reported: str | None,
    followers: int,
    engagement: float | None,
    display_name: str | None,
    avatar: str | None,
    verified: bool,
    bio: str | None,
) -> FetchedAccount:
    # The platform's own spelling of the handle when it gives one we could store, else the one asked for.
    handle = reported if reported is not None and ACCOUNT_HANDLE.match(reported) else requested
    if followers > MAX_FOLLOWERS:
        raise RapidApiUnavailable(
            f"RapidAPI reported {followers} {platform.capitalize()} followers, more than any account has"
        )
    return FetchedAccount(
        platform=platform,
        handle=handle,
        followers=followers,
        engagement=engagement,
        display_name=display_name,
        avatar=avatar,
        verified=verified,
        bio=bio,
    )


def _percent(per_post: float, followers: int) -> float:
    # A small account with one viral post can average more interactions than it has followers;
    # the profile's rates are percentages of followers, so they stop at 100.
    return min(100.0, per_post * 100 / followers)


def _first(*values: T | None) -> T | None:
    return next((value for value in values if value is not None), None)
