"""The one platform registry: everything this service needs to know about each platform.

Everything else derives from this module or is checked against it by a test: the `Platform`
type, the settings and template parameters of each endpoint, the routes and functions in
template.yaml, the OpenAPI document, the sample events, the tests' parametrization and the
README's table. Adding a platform is one entry in PLATFORM_SPECS, its `Platform` literal, a
payload parser `parse_<name>` in social_sync.providers, one function binding (template.yaml and
functions/sync_<name>/app.py) and its recorded payloads in tests/fixtures/.

This module imports nothing of the layer, so every function can read it at no cold-start cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

# Checked against PLATFORM_SPECS by tests/unit/test_platforms.py (mypy needs the literal spelled out).
Platform = Literal["tiktok", "twitch", "twitter", "instagram", "youtube"]
Vendor = Literal["rapidapi", "youtube"]


@dataclass(frozen=True)
class RateLimit:
    """What the platform's vendor allows: `amount` requests (or, for YouTube, quota units) per `seconds`."""

    amount: int
    seconds: int
    unit: Literal["requests", "quota units"] = "requests"

    def describe(self) -> str:
        """ "200 requests per hour", the way the README's table says it."""
        windows = {60: "minute", 900: "15 minutes", 3600: "hour", 86_400: "day"}
        window = windows.get(self.seconds, f"{self.seconds} s")
        return f"{self.amount:,} {self.unit} per {window}"


@dataclass(frozen=True)
class PlatformSpec:
    """One platform: its name and brand, where its accounts are fetched, and how fast."""

    name: Platform
    # As the platform writes itself ("TikTok"): function names (SyncTikTokFunction), template parameters.
    brand: str
    vendor: Vendor
    # The default endpoint as "<host>/<path>"; for RapidAPI a template parameter can swap it.
    endpoint: str
    # The query parameter the handle travels in.
    query_parameter: str
    rate_limit: RateLimit

    @property
    def display_name(self) -> str:
        """The name in messages: `platform.capitalize()` ("Tiktok", "Youtube"), as the app expects."""
        return self.name.capitalize()

    @property
    def vendor_name(self) -> str:
        """Who answers this platform's requests, in messages."""
        return "RapidAPI" if self.vendor == "rapidapi" else "The YouTube Data API"

    @property
    def host(self) -> str:
        return self.endpoint.partition("/")[0]

    @property
    def path(self) -> str:
        return "/" + self.endpoint.partition("/")[2]

    @property
    def parser_name(self) -> str:
        """The function in social_sync.providers that reads this platform's payload."""
        return f"parse_{self.name}"

    @property
    def function_id(self) -> str:
        """The logical id of the platform's sync function in template.yaml."""
        return f"Sync{self.brand}Function"

    @property
    def route(self) -> str:
        """The platform's sync route."""
        return f"/api/v1/profiles/social-sync/{self.name}"


HOUR = 3600
PLATFORM_SPECS: dict[Platform, PlatformSpec] = {
    spec.name: spec
    for spec in (
        PlatformSpec(
            name="tiktok",
            brand="TikTok",
            vendor="rapidapi",
            endpoint="tiktok-api23.p.rapidapi.com/api/user/info",
            query_parameter="uniqueId",
            rate_limit=RateLimit(200, HOUR),
        ),
        PlatformSpec(
            name="twitch",
            brand="Twitch",
            vendor="rapidapi",
            endpoint="twitch-scraper2.p.rapidapi.com/api/channels/info",
            query_parameter="channel",
            rate_limit=RateLimit(800, 60),
        ),
        PlatformSpec(
            name="twitter",
            brand="Twitter",
            vendor="rapidapi",
            endpoint="twitter241.p.rapidapi.com/user",
            query_parameter="username",
            rate_limit=RateLimit(300, 15 * 60),
        ),
        PlatformSpec(
            name="instagram",
            brand="Instagram",
            vendor="rapidapi",
            endpoint="instagram-looter2.p.rapidapi.com/profile",
            query_parameter="username",
            rate_limit=RateLimit(200, HOUR),
        ),
        # Google's quota is counted in units per day, reset at midnight Pacific (social_sync.youtube);
        # channels.list is the endpoint, its siblings playlistItems and videos give engagement.
        PlatformSpec(
            name="youtube",
            brand="YouTube",
            vendor="youtube",
            endpoint="www.googleapis.com/youtube/v3/channels",
            query_parameter="forHandle",
            rate_limit=RateLimit(10_000, 24 * HOUR, "quota units"),
        ),
    )
}
PLATFORMS: tuple[Platform, ...] = get_args(Platform)


def platform_spec(platform: Platform) -> PlatformSpec:
    """The registry entry of `platform`."""
    return PLATFORM_SPECS[platform]


def rapidapi_platforms() -> tuple[Platform, ...]:
    """The platforms fetched through RapidAPI (each with a RapidApi<Brand>Endpoint template parameter)."""
    return tuple(name for name, spec in PLATFORM_SPECS.items() if spec.vendor == "rapidapi")
