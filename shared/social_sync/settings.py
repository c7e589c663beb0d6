"""The functions' configuration: environment variables that template.yaml declares, checked at start-up."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from social_sync.aggregates import EngagementAverage

# A RapidAPI endpoint as "<host>/<path>": the host also goes in x-rapidapi-host.
RapidApiEndpoint = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9-]+(\.[a-z0-9-]+)+(/[A-Za-z0-9._~-]+)+$", max_length=255)
]


class Settings(BaseModel):
    """Read once per container; a missing or malformed variable fails the cold start, not a request."""

    model_config = ConfigDict(frozen=True)

    table_name: Annotated[str, Field(min_length=3, max_length=255)]
    engagement_average: EngagementAverage = "weighted"
    allow_client_reported_stats: bool = True
    sync_cooldown_seconds: Annotated[int, Field(ge=0)] = 60
    history_retention_days: Annotated[int, Field(ge=1)] = 400
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
    rapidapi_tiktok_endpoint: RapidApiEndpoint = "tiktok-api23.p.rapidapi.com/api/user/info"
    rapidapi_twitter_endpoint: RapidApiEndpoint = "twitter241.p.rapidapi.com/user"
    rapidapi_twitch_endpoint: RapidApiEndpoint = "twitch-scraper2.p.rapidapi.com/api/channels/info"
    rapidapi_instagram_endpoint: RapidApiEndpoint = "instagram-looter2.p.rapidapi.com/profile"
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

    @classmethod
    def from_env(cls) -> Settings:
        """Build from the process environment (upper-case names, as in template.yaml)."""
        values = {name: os.environ[name.upper()] for name in cls.model_fields if os.environ.get(name.upper())}
        return cls.model_validate(values)
