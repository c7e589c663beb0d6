"""POST /social/fetch's logic: a handle's numbers, fetched (or cached a few minutes), never stored.

The app's platform-analytics page shows any handle's numbers on every view; caching them per
platform and handle keeps page views from spending the platforms' request budgets.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from social_sync.models import SocialFetchData, SocialFetchRequest, normalize_handle

if TYPE_CHECKING:
    from social_sync.protocols import AccountFetcher, FetchCache


def fetch_numbers(
    request: SocialFetchRequest,
    fetch: AccountFetcher,
    cache: FetchCache | None,
    now: datetime,
    cache_seconds: int,
) -> SocialFetchData:
    """The account's followers and engagement: from the cache while fresh, else fetched and cached.

    Errors of the fetch (AccountNotFound, FetchLimitReached, RapidApiUnavailable, ...) propagate
    and nothing is cached.
    """
    handle = normalize_handle(request.username)
    # Handles are case-insensitive on every platform this service knows.
    key = f"fetch#{request.platform}#{handle.lower()}"
    moment = int(now.timestamp())
    if cache is not None and cache_seconds > 0:
        cached = cache.cached_numbers(key, moment)
        if cached is not None:
            return cached
    account = fetch(request.platform, handle)
    numbers = SocialFetchData(
        followers=account.followers,
        engagement=account.engagement if account.engagement is not None else 0.0,
        engagement_known=account.engagement is not None,
    )
    if cache is not None and cache_seconds > 0:
        cache.cache_numbers(key, numbers, moment + cache_seconds)
    return numbers
