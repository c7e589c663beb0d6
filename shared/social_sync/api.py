"""The HTTP routes: what each function answers, from the logic the composition root's parts feed.

Each function binds one of the factories below at import time, so settings are checked and the
DynamoDB client is created once per container:

    lambda_handler = serve(sync_api("tiktok"))

Every factory takes the Container to build from (tests hand one in with fakes); by default, the
one the environment describes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel

from social_sync import telemetry
from social_sync.container import Container
from social_sync.deadline import Deadline
from social_sync.errors import AccountNumbersHidden, DomainError, InvalidRequest, QuotaExhausted
from social_sync.growth import stats_history
from social_sync.http import HttpRequest, Route, logger
from social_sync.idempotency import Replayer
from social_sync.models import (
    HistoryQuery,
    HistoryResponse,
    LinkedAccountRequest,
    Platform,
    ProfileResponse,
    ProfileUpdate,
    SocialFetchRequest,
    SocialFetchResponse,
    SocialSyncAllRequest,
    SocialSyncRequest,
    SocialSyncResponse,
    VerificationCodeResponse,
    utc_now,
)
from social_sync.parsing import caller_id, parse_body, parse_query
from social_sync.profiles import get_profile, request_readings, sync_platforms, update_profile

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

API_PREFIX = "/api/v1"
LINKED_ACCOUNT = f"{API_PREFIX}/profiles/me/linked-accounts/{{platform}}"
# What a sync keeps of the function's time after its fetches: the write and the answer.
ANSWER_MARGIN_SECONDS = 1.5

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
RequestT = TypeVar("RequestT", bound=BaseModel)


def serve(route: Route) -> LambdaHandler:
    """The Lambda entry point for a route, logging with the request's correlation id."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return route.resolve(event, context)

    return telemetry.traced(lambda_handler)


def sync_api(platform: Platform, container: Container | None = None) -> Route:
    """POST /api/v1/profiles/social-sync/<platform>: save one platform's numbers into the caller's profile."""
    return _sync_api(
        f"{API_PREFIX}/profiles/social-sync/{platform}",
        SocialSyncRequest,
        lambda request: {platform: request},
        f"Social media {platform.capitalize()} synced successfully",
        f"sync-{platform}",
        container or Container.from_env(),
    )


def sync_all_api(container: Container | None = None) -> Route:
    """POST /api/v1/profiles/social-sync: several platforms in one atomic write, all or none."""
    return _sync_api(
        f"{API_PREFIX}/profiles/social-sync",
        SocialSyncAllRequest,
        lambda request: request.platforms,
        "Social media synced successfully",
        "sync-all",
        container or Container.from_env(),
    )


def _sync_api(
    path: str,
    model: type[RequestT],
    platforms_of: Callable[[RequestT], Mapping[Platform, SocialSyncRequest]],
    message: str,
    idempotency_scope: str,
    parts: Container,
) -> Route:
    """The one sync route every sync function binds: numbers or handles in, the updated profile out."""
    # Every part the route uses is made now, during init (which SnapStart snapshots), not on a request.
    settings, profiles, reservations, publisher = (
        parts.settings,
        parts.profiles,
        parts.reservations,
        parts.publisher,
    )
    replay = Replayer(
        settings.idempotency_table_name,
        settings.idempotency_ttl_seconds,
        idempotency_scope,
        parts.dynamodb,
    )

    def sync(http: HttpRequest) -> SocialSyncResponse:
        user_id = caller_id(http)
        request = parse_body(http, model)
        # One deadline for every fetch of this request, early enough to answer before the function times out.
        fetch = parts.fetcher(Deadline.before_timeout(http.context, ANSWER_MARGIN_SECONDS))

        def run() -> SocialSyncResponse:
            requests = platforms_of(request)
            with telemetry.syncing(requests, trigger="user"):
                readings, linked = request_readings(
                    profiles, reservations, settings, user_id, requests, fetch, utc_now()
                )
                profile = sync_platforms(
                    profiles, settings, user_id, readings, utc_now, publisher=publisher, link=linked
                )
            logger.info("platforms synced", extra={"user_id": user_id, "platforms": sorted(readings)})
            return SocialSyncResponse(message=message, profile=profile)

        return replay(http, user_id, request, run)

    return Route("POST", path, sync)


def social_fetch_api(container: Container | None = None) -> Route:
    """POST /api/v1/social/fetch: a handle's numbers on any platform, fetched (or cached), not stored.

    Errors come in the app's shape, {"success": false, "error": "<short>", "message": "..."}.
    """
    # Imported here: only this function's containers fetch on every request.
    from social_sync.social_fetch import fetch_numbers

    parts = container or Container.from_env()
    settings, cache = parts.settings, parts.fetch_state

    def social_fetch(http: HttpRequest) -> SocialFetchResponse:
        caller_id(http)
        request = parse_body(http, SocialFetchRequest)
        fetch = parts.fetcher(Deadline.before_timeout(http.context, ANSWER_MARGIN_SECONDS))
        numbers = fetch_numbers(request, fetch, cache, utc_now(), settings.social_fetch_cache_seconds)
        return SocialFetchResponse(data=numbers)

    return Route("POST", f"{API_PREFIX}/social/fetch", social_fetch, social_fetch_error)


# The `error` of /social/fetch's answers, by status; a few errors have a more precise phrase.
FETCH_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "account_not_found",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
    502: "upstream_error",
    503: "service_unavailable",
    504: "upstream_timeout",
}


def social_fetch_error(status: int, error: DomainError | None) -> str:
    """The short, machine-friendly `error` of a /social/fetch answer."""
    if error is None:  # the function's own answers: a wrong route, or a bug
        return "no_such_route" if status == 404 else "internal_error"
    if isinstance(error, InvalidRequest) and any(e.field == "platform" for e in error.errors):
        return "unsupported_platform"
    if isinstance(error, InvalidRequest) and any(e.field == "username" for e in error.errors):
        return "invalid_username"
    if isinstance(error, AccountNumbersHidden):
        return "followers_hidden"
    if isinstance(error, QuotaExhausted):
        return "quota_exceeded"
    return FETCH_ERROR_CODES.get(status, "error")


def stats_history_api(container: Container | None = None) -> Route:
    """GET /api/v1/profiles/me/stats/history: the caller's data points and growth over a window."""
    history = (container or Container.from_env()).history

    def read(http: HttpRequest) -> HistoryResponse:
        query = parse_query(http, HistoryQuery)
        page = stats_history(history, caller_id(http), query, utc_now())
        return HistoryResponse(**dict(page))

    return Route("GET", f"{API_PREFIX}/profiles/me/stats/history", read)


def get_profile_api(container: Container | None = None) -> Route:
    """GET /api/v1/profiles/me: the caller's profile."""
    profiles = (container or Container.from_env()).profiles

    def read(http: HttpRequest) -> ProfileResponse:
        return ProfileResponse(profile=get_profile(profiles, caller_id(http)))

    return Route("GET", f"{API_PREFIX}/profiles/me", read)


def update_profile_api(container: Container | None = None) -> Route:
    """PUT /api/v1/profiles/me: change the caller's editable fields."""
    parts = container or Container.from_env()
    profiles, attempts = parts.profiles, parts.settings.write_attempts

    def update(http: HttpRequest) -> ProfileResponse:
        user_id = caller_id(http)
        changes = parse_body(http, ProfileUpdate)
        profile = update_profile(profiles, user_id, changes, utc_now(), attempts=attempts)
        return ProfileResponse(message="Profile updated successfully", profile=profile)

    return Route("PUT", f"{API_PREFIX}/profiles/me", update)


def linked_account_code_api(container: Container | None = None) -> Route:
    """POST /api/v1/profiles/me/linked-accounts/{platform}/code: a one-time code for the account's bio."""
    # Imported here: the other functions never verify, and their cold starts should not pay for it.
    from social_sync.verification import issue_code

    parts = container or Container.from_env()
    settings, verifications = parts.settings, parts.verifications

    def issue(http: HttpRequest) -> VerificationCodeResponse:
        user_id, platform, handle = _linked_account(http)
        issued = issue_code(verifications, settings, user_id, platform, handle, utc_now())
        logger.info("verification code issued", extra={"user_id": user_id, "platform": platform})
        return VerificationCodeResponse(**dict(issued))

    return Route("POST", f"{LINKED_ACCOUNT}/code", issue)


def verify_linked_account_api(container: Container | None = None) -> Route:
    """POST /api/v1/profiles/me/linked-accounts/{platform}/verify: the code is in the bio, so it is yours."""
    # Imported here, as in linked_account_code_api: the other functions never verify.
    from social_sync.verification import verify_account

    parts = container or Container.from_env()
    settings, verifications, publisher = parts.settings, parts.verifications, parts.publisher

    def verify(http: HttpRequest) -> ProfileResponse:
        user_id, platform, handle = _linked_account(http)
        fetch = parts.fetcher(Deadline.before_timeout(http.context, ANSWER_MARGIN_SECONDS))
        profile = verify_account(
            verifications, settings, user_id, platform, handle, fetch, utc_now, publisher=publisher
        )
        handle = (profile.verified_accounts or {})[platform].handle
        logger.info("linked account verified", extra={"user_id": user_id, "platform": platform})
        return ProfileResponse(message=f"{platform.capitalize()} account {handle} verified", profile=profile)

    return Route("POST", f"{LINKED_ACCOUNT}/verify", verify)


def _linked_account(http: HttpRequest) -> tuple[str, Platform, str]:
    """The caller, the path's {platform} and the body's handle of a linked-account route."""
    from social_sync.verification import known_platform

    user_id = caller_id(http)
    platform = known_platform(http.path_parameters.get("platform"))
    return user_id, platform, parse_body(http, LinkedAccountRequest).handle
