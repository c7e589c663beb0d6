"""The wire format (camelCase JSON, exactly as the app's frontend expects it) and the stored profile."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

# The registry's names, re-exported beside the wire types that use them.
from social_sync.platforms import PLATFORMS as PLATFORMS
from social_sync.platforms import Platform as Platform

Source = Literal["client", "rapidapi"]
Trigger = Literal["user", "schedule"]
SyncFrequency = Literal["hourly", "daily", "weekly"]

MAX_FOLLOWERS = 10_000_000_000
ENGAGEMENT_DECIMALS = 6
# A caller id (the token's subject) longer than this is refused: it is part of DynamoDB keys (at most
# 2048 bytes) and of the scheduled sync's queue messages.
MAX_USER_ID_LENGTH = 256


def utc_now() -> datetime:
    """The current time in UTC, to the millisecond (the precision timestamps are stored with)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a `Z`, the way JavaScript's `toISOString` writes it."""
    moment = moment.astimezone(UTC)
    # The year is padded by hand: strftime writes year 79 as "79", which would sort after "2026".
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]


def _six_places(rate: float) -> float:
    # Far finer than any platform reports, and always within what a DynamoDB number can hold;
    # + 0.0 turns -0.0 into 0.0, so a rate is never echoed as "-0.0".
    return round(rate, ENGAGEMENT_DECIMALS) + 0.0


# Host names that only ever mean this machine or a private network.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")


def _public_url(url: AnyHttpUrl) -> AnyHttpUrl:
    """An http(s) URL the app can show and link to: a public host, no credentials.

    The parser has already turned numeric hosts (decimal, hex, octal IPv4) into dotted form, so an
    IP host is judged by what it is, and a name by whether it can only be internal (no DNS lookups).
    """
    if url.username or url.password:
        raise ValueError("must not carry a user name or password")
    host = (url.host or "").rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if "." not in host or host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
            raise ValueError("must point to a public host") from None
        return url
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        raise ValueError("must point to a public address, not a private, loopback or link-local one")
    return url


Followers = Annotated[int, Field(ge=0, le=MAX_FOLLOWERS)]
EngagementRate = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False), AfterValidator(_six_places)]
Handle = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^@?[A-Za-z0-9._-]+$"),
]
Text = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, max_length=100)]
HttpUrl = Annotated[AnyHttpUrl, Field(max_length=2048), AfterValidator(_public_url)]


def handle_key(handle: str) -> str:
    """A handle as the platforms compare it: no leading @, no surrounding space, case-insensitive."""
    return handle.strip().removeprefix("@").lower()


class WireModel(BaseModel):
    """camelCase on the wire and in DynamoDB, snake_case in Python."""

    # defer_build: a model's validator is built on first use, so a function pays only for the models it uses.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready camelCase dict, leaving out what is unknown."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RequestModel(WireModel):
    """A body sent by a client: unknown fields and explicit nulls are refused, not ignored."""

    model_config = ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null; leave the field out instead")
        return value


class SocialSyncRequest(RequestModel):
    """A sync body: either numbers the app fetched, or a handle for this service to fetch."""

    followers: Annotated[Followers, Strict()] | None = None
    engagement: Annotated[EngagementRate, Strict()] | None = None
    username_or_id: Handle | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SocialSyncRequest:
        has_numbers = self.followers is not None or self.engagement is not None
        if has_numbers and self.username_or_id is not None:
            raise ValueError("send either followers/engagement or usernameOrId, not both")
        if not has_numbers and self.username_or_id is None:
            raise ValueError("give at least one of followers, engagement or usernameOrId")
        return self


class SocialSyncAllRequest(RequestModel):
    """A "sync all" body: each platform's entry is validated as a single-platform sync body."""

    platforms: Annotated[dict[Platform, SocialSyncRequest], Field(min_length=1)]


MAX_HISTORY_PAGE = 500


class HistoryQuery(RequestModel):
    """The query string of GET /profiles/me/stats/history."""

    platform: Platform | None = None
    start: datetime | None = Field(default=None, alias="from")
    end: datetime | None = Field(default=None, alias="to")
    limit: Annotated[int, Field(ge=1, le=MAX_HISTORY_PAGE)] = 100
    cursor: Annotated[str, StringConstraints(min_length=1, max_length=2048)] | None = None

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, moment: datetime) -> datetime:
        # A date or time without a zone is read as UTC, the zone every stored timestamp is in.
        try:
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before the year 1 in UTC
            raise ValueError("must be an instant between the years 1 and 9999 in UTC") from None

    @model_validator(mode="after")
    def _ordered(self) -> HistoryQuery:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("from must not be after to")
        return self


class Location(RequestModel):
    city: Text | None = None
    state: Text | None = None
    country: Text | None = None


class SyncSettings(RequestModel):
    auto_sync: Annotated[bool, Strict()]
    frequency: SyncFrequency = "daily"


READ_ONLY_FIELDS = ("stats", "userId", "createdAt", "updatedAt")


class ProfileUpdate(RequestModel):
    """The fields a creator may edit with PUT /profiles/me; every one optional."""

    username: (
        Annotated[str, Strict(), StringConstraints(min_length=3, max_length=30, pattern=r"^[A-Za-z0-9_.]+$")]
        | None
    ) = None
    display_name: (
        Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    bio: Annotated[str, Strict(), StringConstraints(max_length=1000)] | None = None
    avatar: HttpUrl | None = None
    niche: (
        Annotated[
            list[Annotated[str, Strict(), StringConstraints(min_length=1, max_length=50)]],
            Field(max_length=20),
        ]
        | None
    ) = None
    location: Location | None = None
    social_links: (
        Annotated[
            dict[Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{2,30}$")], HttpUrl],
            Field(max_length=20),
        ]
        | None
    ) = None
    linked_accounts: dict[Platform, Handle] | None = None
    sync_settings: SyncSettings | None = None
    # Declared only so that writing them is a clear per-field error rather than "unknown field".
    stats: Any = Field(default=None, exclude=True)
    user_id: Any = Field(default=None, exclude=True)
    created_at: Any = Field(default=None, exclude=True)
    updated_at: Any = Field(default=None, exclude=True)

    @field_validator("stats", "user_id", "created_at", "updated_at", mode="before")
    @classmethod
    def _read_only(cls, value: Any) -> Any:
        raise ValueError("is read-only")

    @model_validator(mode="after")
    def _not_empty(self) -> ProfileUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields this update sets, camelCase, JSON-ready."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class PlatformStats(WireModel):
    """One platform's numbers in the profile; a number nobody has reported yet is left out.

    `verified`: the numbers were fetched from the account the caller verified as theirs.
    """

    followers: int | None = None
    engagement: float | None = None
    last_synced_at: Timestamp
    source: Source
    verified: bool = False


class VerifiedAccount(WireModel):
    """A linked account the caller proved theirs with a bio code; it stays so until unlinked or taken over."""

    handle: str
    verified_at: Timestamp


class ProfileStats(WireModel):
    platform_breakdown: dict[str, PlatformStats] = Field(default_factory=dict)
    total_followers: int = 0
    avg_engagement: float = 0.0


class Profile(WireModel):
    """A creator's profile as stored and as returned; `version` guards concurrent writes and stays inside."""

    user_id: str
    username: str | None = None
    display_name: str | None = None
    bio: str | None = None
    avatar: str | None = None
    niche: list[str] | None = None
    location: dict[str, str] | None = None
    social_links: dict[str, str] | None = None
    linked_accounts: dict[str, str] | None = None
    # Left out until some linked account is verified (see social_sync.verification).
    verified_accounts: dict[str, VerifiedAccount] | None = None
    sync_settings: dict[str, Any] | None = None
    stats: ProfileStats = Field(default_factory=ProfileStats)
    created_at: Timestamp
    updated_at: Timestamp
    version: int = Field(default=0, exclude=True)
    # The scheduled sync's bookkeeping, stored with the profile but never on the wire: when the next
    # refresh is due (only while autoSync is on), and when the dispatcher may next pick the profile up.
    sync_due_at: datetime | None = Field(default=None, exclude=True)
    sync_dispatch_at: datetime | None = Field(default=None, exclude=True)


class HistoryEntry(WireModel):
    """One data point of a platform's growth, written with the sync that produced it."""

    platform: str
    followers: int | None = None
    engagement: float | None = None
    source: Source
    trigger: Trigger
    synced_at: Timestamp


class PlatformGrowth(WireModel):
    """How one platform moved over a window: its first and last data points in it."""

    points_from: Timestamp
    points_to: Timestamp
    followers_first: int | None = None
    followers_last: int | None = None
    followers_change: int | None = None
    followers_change_percent: float | None = None
    engagement_first: float | None = None
    engagement_last: float | None = None


class HistoryPage(WireModel):
    """A page of data points in time order, the growth over the whole window, and where to go on."""

    history: list[HistoryEntry]
    growth: dict[str, PlatformGrowth]
    next_cursor: str | None = None


class SocialFetchRequest(RequestModel):
    """POST /social/fetch: whose numbers to fetch, as the app's platform-analytics page sends it."""

    platform: Platform
    username: Handle


class SocialFetchData(WireModel):
    """A handle's numbers, fetched and not stored. `engagement` is a number, as the app's type wants it:
    0 where the platform does not report one, which `engagementKnown` false says."""

    followers: int
    engagement: float
    engagement_known: bool


class PlatformReading(BaseModel):
    """Numbers for one platform that a sync brings in; None means "not reported, keep what is stored".

    `handle` is the account fetched numbers came from (None for numbers a client sent).
    """

    followers: Followers | None = None
    engagement: EngagementRate | None = None
    source: Source
    handle: str | None = None


class LinkedAccountRequest(RequestModel):
    """The body of the linked-account code and verify routes: which account of the path's platform."""

    handle: Handle


class IssuedCode(WireModel):
    """A verification code as handed to the caller: the code itself is never stored."""

    code: str = Field(examples=["SS-7KQ2M9XD"], pattern=r"^SS-[23456789A-HJ-NP-Z]{8}$")
    expires_at: Timestamp
    message: str


class VerificationCode(BaseModel):
    """A code issued to a user for one platform account, as stored: only its hash is kept."""

    handle: str
    code_hash: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class HandleOwner(BaseModel):
    """Who verified a platform account last: the one item per account that makes it one user's at a time."""

    user_id: str
    handle: str
    verified_at: datetime


@dataclass(frozen=True)
class VerificationState:
    """What a verification reads before it writes: the caller's code and profile, the account's owner."""

    code: VerificationCode | None
    owner: HandleOwner | None
    profile: Profile | None
    # The owner's profile, when someone else holds the account.
    owner_profile: Profile | None


@dataclass(frozen=True)
class VerificationWrite:
    """What a verification writes in one transaction (each item conditional on what was read)."""

    profile: Profile
    history: list[HistoryEntry]
    owner: HandleOwner
    # The previous owner's profile without the account, when it is taken over.
    previous_owner_profile: Profile | None = None
