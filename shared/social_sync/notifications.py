"""The "ProfileStatsSynced" event on EventBridge, so a notification service can react to syncs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from social_sync import telemetry
from social_sync.models import Profile, Source

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

EVENT_SOURCE = "social-sync"
DETAIL_TYPE = "ProfileStatsSynced"

logger = Logger(child=True)


class StatsSyncedPublisher:
    """Puts one event per successful sync on the bus; a failure is logged and counted, never raised."""

    def __init__(self, bus_name: str, client_factory: Callable[[], EventBridgeClient]) -> None:
        self._bus = bus_name
        self._client_factory = client_factory
        self._client: EventBridgeClient | None = None

    def stats_synced(self, profile: Profile, platforms: Iterable[str], source: Source) -> None:
        """Announce the profile's new totals after a sync of `platforms`."""
        detail = {
            "userId": profile.user_id,
            "platforms": sorted(platforms),
            "totalFollowers": profile.stats.total_followers,
            "avgEngagement": profile.stats.avg_engagement,
            "source": source,
            "syncedAt": profile.to_wire()["updatedAt"],
        }
        try:
            if self._client is None:
                self._client = self._client_factory()
            response = self._client.put_events(
                Entries=[
                    {
                        "EventBusName": self._bus,
                        "Source": EVENT_SOURCE,
                        "DetailType": DETAIL_TYPE,
                        "Detail": json.dumps(detail),
                    }
                ]
            )
            failed = response.get("FailedEntryCount", 0)
            reason = response["Entries"][0].get("ErrorCode") if failed else None
        except Exception as error:  # whatever goes wrong here must not fail a sync that landed
            failed, reason = 1, type(error).__name__
        if failed:
            _count_failure(reason)


def _count_failure(reason: Any) -> None:
    logger.warning("stats event not published", extra={"reason": str(reason)})
    telemetry.event_not_published()
