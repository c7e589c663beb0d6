"""The service's shared types: the wire format (camelCase JSON, exactly as the app's frontend expects
it), the profile and its history, the answers the functions send, and the values the logic, the data
layer and the vendors' clients hand each other. No I/O and no logic beyond validation."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
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

from social_sync.errors import FieldError

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


def normalize_handle(handle: str) -> str:
    """The handle as the platforms take it: no leading @, no surrounding space."""
    return handle.strip().removeprefix("@")


def handle_key(handle: str) -> str:
    """A handle as the platforms compare it: no leading @, no surrounding space, case-insensitive."""
    return normalize_handle(handle).lower()


# What a platform account's handle may be, as fetched (without the @).
ACCOUNT_HANDLE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


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


class FetchedAccount(BaseModel):
    """A platform account as its platform reported it, normalized. Engagement is a percentage, or unknown."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    platform: Platform
    handle: Annotated[str, Field(pattern=ACCOUNT_HANDLE.pattern)]
    followers: Followers
    engagement: EngagementRate | None = None
    display_name: str | None = None
    avatar: str | None = None
    verified: bool = False
    # The account's bio / description, where a verification code is looked for.
    bio: str | None = None

    def reading(self) -> PlatformReading:
        """The numbers to store: fetched, so their source is "rapidapi", from this account."""
        return PlatformReading(
            followers=self.followers, engagement=self.engagement, source="rapidapi", handle=self.handle
        )


# --- What the logic and the data layer hand each other. -------------------------------------------------

# A change to one profile: the stored profile (None before the first write) in, the profile to
# save and the history points to write with it out. Raising a DomainError cancels the write.
ProfileChange = Callable[["Profile | None"], "tuple[Profile, list[HistoryEntry]]"]


@dataclass(frozen=True)
class DueProfile:
    """A profile the SyncDue index shows as due, with the dispatch time the claim is conditional on."""

    user_id: str
    dispatch_at: datetime


@dataclass
class DispatchReport:
    """What one run of the scheduled sync's dispatcher did."""

    sent: list[str] = field(default_factory=list)
    # Changed between the index read and the claim (synced, rescheduled, or claimed by an overlapping run).
    skipped: int = 0
    # Left for the next tick because the run was running out of time.
    deferred: bool = False
    # Due profiles the index showed this run, and the earliest dispatch time among them (the schedule's lag).
    due: int = 0
    oldest_due: datetime | None = None
    # Never claimed: no message could carry them (a user id over MAX_USER_ID_LENGTH, from before the
    # HTTP edge refused such ids); they are left where they are and hold nobody else back.
    unsendable: list[str] = field(default_factory=list)


@dataclass
class RefreshReport:
    """What refreshing one profile did, platform by platform."""

    user_id: str
    refreshed: list[Platform] = field(default_factory=list)
    # Already refreshed in this round (an earlier delivery of the message) or synced inside the cooldown.
    fresh: list[Platform] = field(default_factory=list)
    # The platform says the account is gone: retrying cannot help, so it does not hold the schedule back.
    not_found: list[Platform] = field(default_factory=list)
    # RapidAPI failed for these; the message is retried and they are fetched again.
    failed: dict[Platform, str] = field(default_factory=dict)
    # The platform's request budget (YouTube: the daily quota) is spent: SQS retrying the message would
    # not help, so the profile keeps its due time and a later tick dispatches it again.
    limited: list[Platform] = field(default_factory=list)
    # Nothing to do: no profile, autoSync off, or not due (a duplicate or late message).
    skipped: bool = False
    rescheduled_to: datetime | None = None


class RefreshMessage(BaseModel):
    """The body of a SyncQueue message: whose profile to refresh. The worker reads the rest itself."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    user_id: Annotated[str, Field(alias="userId", min_length=1, max_length=MAX_USER_ID_LENGTH)]


# --- The answers the functions send (the API document is generated from these too). ---------------------


class Answer(WireModel):
    # What a function sends is exactly this: anything more (a stack trace, say) breaks the contract.
    model_config = ConfigDict(extra="forbid")


class ProfileResponse(Answer):
    """The caller's profile; `message` only after a change."""

    success: Literal[True] = True
    message: str | None = None
    profile: Profile


class SocialSyncResponse(ProfileResponse):
    """A successful sync: the caller's whole profile after it."""

    message: str = Field(examples=["Social media Tiktok synced successfully"])


class HistoryResponse(HistoryPage, Answer):
    """A page of the caller's history, in time order, with each platform's growth over the window."""

    success: Literal[True] = True


class VerificationCodeResponse(IssuedCode, Answer):
    """A one-time code to put anywhere in the account's bio, and until when it can be verified."""

    success: Literal[True] = True


class SocialFetchResponse(Answer):
    """A handle's numbers, as the app's platform-analytics page reads them."""

    success: Literal[True] = True
    data: SocialFetchData


class ErrorResponse(Answer):
    """Every error the functions answer: a message for a person; per-field problems for validation."""

    success: Literal[False] = False
    message: str
    errors: list[FieldError] | None = Field(default=None, min_length=1)


class SocialFetchErrorResponse(ErrorResponse):
    """An error in the app's shape: `error` a short machine-friendly phrase, `message` for a person."""

    error: str = Field(pattern="^[a-z_]+$", examples=["account_not_found", "quota_exceeded"])
