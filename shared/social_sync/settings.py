"""The functions' configuration: environment variables that template.yaml declares, checked at start-up."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from social_sync.aggregates import EngagementAverage


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

    @classmethod
    def from_env(cls) -> Settings:
        """Build from the process environment (upper-case names, as in template.yaml)."""
        values = {name: os.environ[name.upper()] for name in cls.model_fields if os.environ.get(name.upper())}
        return cls.model_validate(values)
