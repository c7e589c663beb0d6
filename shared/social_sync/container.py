"""The composition root: everything the functions' code is built from, made here and nowhere else.

Each function makes one Container when its handler is bound (once per Lambda container), from the
environment. Each part is made when first asked for: the DynamoDB client at once, and each route or
job asks for the parts it uses when it is bound, during init (which SnapStart snapshots). A function
pays only for what it uses: a numbers sync never imports httpx, an HTTP function never builds the queue.
Parts are built once even when threads race for them (the worker refreshes a batch's profiles side
by side). Tests hand in fakes:

    Container(settings, profiles=InMemoryProfiles())       # any part, by its name
    Container(settings, transport=fake.transport, sleep=waits.append)   # the vendors, replayed
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from social_sync import aws
from social_sync.data.history import DynamoHistory
from social_sync.data.profiles import DynamoProfiles
from social_sync.data.reservations import DynamoFetchReservations
from social_sync.settings import Settings

if TYPE_CHECKING:
    import httpx
    from mypy_boto3_dynamodb import DynamoDBClient

    from social_sync.data.fetch_state import DynamoFetchState
    from social_sync.deadline import Deadline
    from social_sync.protocols import (
        AccountFetcher,
        FetchReservations,
        History,
        Profiles,
        RefreshQueue,
        ScheduleIndex,
        StatsPublisher,
        VerificationStore,
    )
    from social_sync.quota import Caller
    from social_sync.rapidapi import RapidApiClient, RetryPolicy

T = TypeVar("T")


class part(Generic[T]):
    """A part of the container: built by the method it decorates on first use, once, under a lock."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self._build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, container: None, owner: type[Container]) -> part[T]: ...

    @overload
    def __get__(self, container: Container, owner: type[Container] | None = None) -> T: ...

    def __get__(self, container: Container | None, owner: type[Container] | None = None) -> T | part[T]:
        if container is None:  # asked of the class: the part itself
            return self
        built = container._built
        if self.name not in built:
            with container._lock:
                if self.name not in built:
                    built[self.name] = self._build(container)
        return cast("T", built[self.name])


class Container:
    """Settings, repositories, publisher, queue and fetchers of one function's container."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **given: Any,
    ) -> None:
        unknown = {name for name in given if not isinstance(getattr(type(self), name, None), part)}
        if unknown:
            raise TypeError(f"no such part of the container: {', '.join(sorted(unknown))}")
        self.settings = settings
        # The vendors' HTTP transport and the waits of their clients (tests replay and record them).
        self._transport = transport
        self._sleep = sleep
        self._built: dict[str, Any] = dict(given)
        # Re-entrant: a part's build may use other parts.
        self._lock = threading.RLock()

    @classmethod
    def from_env(cls) -> Container:
        """The container a deployed function runs with: its settings from the environment, and its
        DynamoDB client made now, during init, which SnapStart snapshots: no request pays for it."""
        container = cls(Settings.from_env())
        _ = container.dynamodb
        return container

    @part
    def dynamodb(self) -> DynamoDBClient:
        return aws.dynamodb()

    @part
    def profiles(self) -> Profiles:
        return self._dynamo_profiles()

    @part
    def reservations(self) -> FetchReservations:
        return DynamoFetchReservations(self.dynamodb, self.settings.table_name)

    @part
    def history(self) -> History:
        return DynamoHistory(self.dynamodb, self.settings.table_name)

    @part
    def schedule_index(self) -> ScheduleIndex:
        # Imported here, as every part only one kind of function uses: the others' cold starts skip it.
        from social_sync.data.schedule_index import DynamoScheduleIndex

        return DynamoScheduleIndex(self.dynamodb, self.settings.table_name)

    @part
    def verifications(self) -> VerificationStore:
        from social_sync.data.verifications import DynamoVerificationStore

        # A verification writes the profiles in its own transaction, so it needs DynamoDB's.
        return DynamoVerificationStore(
            self.dynamodb,
            self.settings.table_name,
            self._dynamo_profiles(),
            write_attempts=self.settings.write_attempts,
        )

    @part
    def fetch_state(self) -> DynamoFetchState | None:
        """The fetch-state table, where there is one: /social/fetch's cache and the vendors' counters."""
        if self.settings.fetch_state_table_name is None:
            return None
        from social_sync.data.fetch_state import DynamoFetchState

        return DynamoFetchState(self.dynamodb, self.settings.fetch_state_table_name)

    @part
    def publisher(self) -> StatsPublisher | None:
        if self.settings.event_bus_name is None:
            return None
        from social_sync.notifications import StatsSyncedPublisher

        # The client is made on first publish, so cold starts do not pay for it.
        return StatsSyncedPublisher(self.settings.event_bus_name, aws.events)

    @part
    def refresh_queue(self) -> RefreshQueue:
        if not self.settings.sync_queue_url:
            raise ValueError("SYNC_QUEUE_URL is not set")
        from social_sync.data.refresh_queue import SqsRefreshQueue

        return SqsRefreshQueue(aws.sqs(), self.settings.sync_queue_url)

    @part
    def interactive_client(self) -> RapidApiClient:
        """The vendors' client of the HTTP routes: a person waits, so few retries, short waits."""
        from social_sync.rapidapi import INTERACTIVE

        return self._vendor_client(INTERACTIVE, "http")

    @part
    def background_client(self) -> RapidApiClient:
        """The vendors' client of the scheduled sync: more patient, and it keeps the HTTP routes' share."""
        from social_sync.rapidapi import BACKGROUND

        return self._vendor_client(BACKGROUND, "schedule")

    def fetcher(self, deadline: Deadline) -> AccountFetcher:
        """Fetches for one HTTP request, by its deadline; the client (and httpx with it) is built on
        the first fetch, so a numbers-only sync never pays for the import at cold start."""
        return lambda platform, handle: self.interactive_client.fetch_account(platform, handle, deadline)

    def _dynamo_profiles(self) -> DynamoProfiles:
        return DynamoProfiles(
            self.dynamodb,
            self.settings.table_name,
            history_retention_days=self.settings.history_retention_days,
            write_attempts=self.settings.write_attempts,
        )

    def _vendor_client(self, policy: RetryPolicy, caller: Caller) -> RapidApiClient:
        # RapidAPI requests draw on the plan shared by every container (social_sync.quota) and on each
        # platform's request window; YouTube calls on the daily quota. All three are counted in the
        # fetch-state table.
        from social_sync.data.quota_slots import DynamoQuotaSlots
        from social_sync.quota import SharedQuota
        from social_sync.rapidapi import VENDOR, RapidApiClient
        from social_sync.youtube import DailyQuota

        settings, counters = self.settings, self.fetch_state
        if counters is None or settings.fetch_state_table_name is None:
            raise ValueError("FETCH_STATE_TABLE_NAME is not set: the vendors' plan and counters live there")
        plan = SharedQuota(
            DynamoQuotaSlots(self.dynamodb, settings.fetch_state_table_name),
            VENDOR,
            requests_per_second=settings.rapidapi_requests_per_second,
            caller=caller,
            schedule_reserve=settings.rapidapi_schedule_reserve,
            sleep=self._sleep,
        )
        return RapidApiClient(
            settings,
            policy=policy,
            limiter=plan,
            transport=self._transport,
            sleep=self._sleep,
            quota=DailyQuota(counters, settings.youtube_daily_quota_units),
            windows=counters,
        )
