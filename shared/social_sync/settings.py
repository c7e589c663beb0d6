"""The functions' configuration: environment variables that template.yaml declares, checked at start-up."""

from __future__ import annotations

import os
from typing import Annotated, Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from social_sync.platforms import PLATFORM_SPECS, Platform, rapidapi_platforms

# A RapidAPI endpoint as "<host>/<path>": the host also goes in x-rapidapi-host.
RapidApiEndpoint = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+(/[A-Za-z0-9._~-]+)+$", max_length=255)
]


# How avgEngagement averages the platforms: weighted by followers, or a plain mean.
EngagementAverage = Literal["weighted", "mean"]


class Settings(BaseModel):
    """Read once per container; a missing or malformed variable fails the cold start, not a request."""

    model_config = ConfigDict(frozen=True)

    table_name: Annotated[str, Field(min_length=3, max_length=255)]
    engagement_average: EngagementAverage = "weighted"
    allow_client_reported_stats: bool = True
    sync_cooldown_seconds: Annotated[int, Field(ge=0)] = 60
    history_retention_days: Annotated[int, Field(ge=1)] = 400
    # Sync by handle (and the scheduled sync) only for accounts the caller verified with a bio code.
    require_verified_accounts: bool = False
    # How long a verification code may wait for its bio, and how many codes and how many verify
    # attempts (each one upstream fetch) a user gets per hour, each counted on its own.
    verification_code_ttl_seconds: Annotated[int, Field(ge=1, le=86_400)] = 900
    verification_attempts_per_hour: Annotated[int, Field(ge=1, le=1000)] = 10
    # Unset (as in unit tests) turns the feature off.
    event_bus_name: str | None = None
    idempotency_table_name: str | None = None
    idempotency_ttl_seconds: Annotated[int, Field(ge=60)] = 3600
    # Optimistic-concurrency attempts per write before giving up with a retryable 503.
    write_attempts: Annotated[int, Field(ge=1, le=50)] = 12
    # RapidAPI, for sync by handle and the scheduled sync. The key is RAPIDAPI_KEY locally; deployed it
    # is read at run time from the SSM SecureString parameter (a name starting with /) or the Secrets
    # Manager secret (an ARN) that RAPIDAPI_KEY_PARAMETER names, so it never sits in the environment.
    rapidapi_key: SecretStr | None = None
    rapidapi_key_parameter: Annotated[str, Field(pattern=r"^(/|arn:)")] | None = None
    # Every RapidAPI request goes to this base URL instead of the endpoint's host (a local fake).
    rapidapi_base_url: AnyHttpUrl | None = None
    # Each RapidAPI platform's endpoint: RAPIDAPI_<PLATFORM>_ENDPOINT, else the registry's default.
    rapidapi_endpoints: dict[Platform, RapidApiEndpoint] = Field(default_factory=dict, validate_default=True)
    # The plan's rate limit, shared by every container through DynamoDB (social_sync.quota); the
    # reserve is the share of it the HTTP routes may never use, kept for the scheduled sync.
    rapidapi_requests_per_second: Annotated[float, Field(gt=0, le=1000)] = 5
    rapidapi_schedule_reserve: Annotated[float, Field(ge=0, le=1)] = 0.5
    rapidapi_timeout_seconds: Annotated[float, Field(gt=0, le=30)] = 5
    # The scheduled sync: where the dispatcher sends due profiles, and how long a dispatched profile
    # is left to its worker before it counts as due again. (Workers need no share of the rate: they
    # all draw on the one plan, social_sync.quota.)
    sync_queue_url: str | None = None
    sync_claim_seconds: Annotated[int, Field(ge=0, le=86_400)] = 1800
    # The YouTube Data API: its key kept like the RapidAPI key (YOUTUBE_API_KEY locally), a base URL
    # that replaces https://www.googleapis.com (a local fake), and the daily budget in quota units.
    youtube_api_key: SecretStr | None = None
    youtube_api_key_parameter: Annotated[str, Field(pattern=r"^(/|arn:)")] | None = None
    youtube_base_url: AnyHttpUrl | None = None
    youtube_daily_quota_units: Annotated[int, Field(ge=0)] = PLATFORM_SPECS["youtube"].rate_limit.amount
    # The table that holds what fetching shares across containers: YouTube's daily quota counter and
    # /social/fetch's cached answers. Unset (as in some unit tests): no shared budget, no cache.
    fetch_state_table_name: str | None = None
    social_fetch_cache_seconds: Annotated[int, Field(ge=0, le=86_400)] = 300

    @field_validator("rapidapi_endpoints", mode="after")
    @classmethod
    def _every_rapidapi_platform(cls, endpoints: dict[Platform, str]) -> dict[Platform, str]:
        unknown = set(endpoints) - set(rapidapi_platforms())
        if unknown:
            raise ValueError(f"not fetched through RapidAPI: {', '.join(sorted(unknown))}")
        return {name: endpoints.get(name, PLATFORM_SPECS[name].endpoint) for name in rapidapi_platforms()}

    @classmethod
    def from_env(cls) -> Settings:
        """Build from the process environment (upper-case names, as in template.yaml)."""
        values: dict[str, Any] = {
            name: os.environ[name.upper()] for name in cls.model_fields if os.environ.get(name.upper())
        }
        values["rapidapi_endpoints"] = {
            name: os.environ[variable]
            for name in rapidapi_platforms()
            if os.environ.get(variable := rapidapi_endpoint_variable(name))
        }
        return cls.model_validate(values)


def rapidapi_endpoint_variable(platform: Platform) -> str:
    """The environment variable that overrides a RapidAPI platform's endpoint (RAPIDAPI_TIKTOK_ENDPOINT)."""
    return f"RAPIDAPI_{platform.upper()}_ENDPOINT"
