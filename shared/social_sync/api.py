"""The HTTP edge: API Gateway HTTP API (payload 2.0) events in, the documented JSON out.

Each function binds one of the factories below at import time, so settings are
checked and the DynamoDB client is created once per container:

    route = sync_api("tiktok")
    lambda_handler = serve(route)
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ValidationError

from social_sync import aws, telemetry
from social_sync.deadline import Deadline
from social_sync.errors import (
    AccountNotFound,
    AccountNotVerified,
    AccountNumbersHidden,
    ClientStatsRefused,
    CodeNotInBio,
    CodeNotUsable,
    ConcurrentUpdateConflict,
    DomainError,
    FieldError,
    IdempotencyKeyReused,
    InvalidRequest,
    PayloadTooLarge,
    ProfileNotFound,
    QuotaExhausted,
    RapidApiTimeout,
    RapidApiUnavailable,
    RequestInProgress,
    RetryLater,
    StoreUnavailable,
    Unauthenticated,
    UnknownPlatform,
)
from social_sync.http import HttpRequest, Route, logger
from social_sync.models import (
    MAX_USER_ID_LENGTH,
    HistoryQuery,
    LinkedAccountRequest,
    Platform,
    Profile,
    ProfileUpdate,
    SocialFetchRequest,
    SocialSyncAllRequest,
    SocialSyncRequest,
    utc_now,
)
from social_sync.notifications import StatsSyncedPublisher
from social_sync.profiles import (
    AccountFetcher,
    get_profile,
    request_readings,
    stats_history,
    sync_platforms,
    update_profile,
)
from social_sync.settings import Settings
from social_sync.store import DynamoFetchState, DynamoProfileStore

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from social_sync.providers import FetchedAccount
    from social_sync.verification_store import DynamoVerificationStore

API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 16 * 1024
# What a sync keeps of the function's time after its fetches: the write and the answer.
ANSWER_MARGIN_SECONDS = 1.5
MAX_IDEMPOTENCY_KEY = 255
# No request body nests deeper than 3; refusing deep ones before parsing keeps every parser's
# recursion (json, pydantic, our own serializers) far from Python's limit.
MAX_BODY_DEPTH = 32
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')

LambdaHandler = Callable[[dict[str, Any], "LambdaContext"], dict[str, Any]]
RequestT = TypeVar("RequestT", bound=BaseModel)

_STATUS: dict[type[DomainError], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    ClientStatsRefused: 403,
    AccountNotVerified: 403,
    ProfileNotFound: 404,
    AccountNotFound: 404,
    UnknownPlatform: 404,
    RequestInProgress: 409,
    CodeNotUsable: 410,
    PayloadTooLarge: 413,
    IdempotencyKeyReused: 422,
    CodeNotInBio: 422,
    RetryLater: 429,
    RapidApiUnavailable: 502,
    ConcurrentUpdateConflict: 503,
    StoreUnavailable: 503,
    RapidApiTimeout: 504,
}


def serve(route: Route) -> LambdaHandler:
    """The Lambda entry point for a route, logging with the request's correlation id."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        return route.resolve(event, context)

    return telemetry.traced(lambda_handler)


def sync_api(platform: Platform) -> Route:
    """POST /api/v1/profiles/social-sync/<platform>: save one platform's numbers into the caller's profile."""
    return _sync_api(
        f"{API_PREFIX}/profiles/social-sync/{platform}",
        SocialSyncRequest,
        lambda request: {platform: request},
        f"Social media {platform.capitalize()} synced successfully",
        idempotency_scope=f"sync-{platform}",
    )


def sync_all_api() -> Route:
    """POST /api/v1/profiles/social-sync: several platforms in one atomic write, all or none."""
    return _sync_api(
        f"{API_PREFIX}/profiles/social-sync",
        SocialSyncAllRequest,
        lambda request: request.platforms,
        "Social media synced successfully",
        idempotency_scope="sync-all",
    )


def _sync_api(
    path: str,
    model: type[RequestT],
    platforms_of: Callable[[RequestT], Mapping[Platform, SocialSyncRequest]],
    message: str,
    idempotency_scope: str,
) -> Route:
    """The one sync route every sync function binds: numbers or handles in, the updated profile out."""
    settings, store = _dependencies()
    publisher = _publisher(settings)
    replay = _replayer(settings, idempotency_scope)
    fetcher = _account_fetcher(settings)

    def sync(http: HttpRequest) -> dict[str, Any]:
        user_id = caller_id(http)
        request = parse_body(http, model)
        # One deadline for every fetch of this request, early enough to answer before the function times out.
        fetch = fetcher(Deadline.before_timeout(http.context, ANSWER_MARGIN_SECONDS))

        def run() -> dict[str, Any]:
            requests = platforms_of(request)
            with telemetry.syncing(requests, trigger="user"):
                readings, linked = request_readings(store, settings, user_id, requests, fetch, utc_now())
                profile = sync_platforms(
                    store, settings, user_id, readings, utc_now, publisher=publisher, link=linked
                )
            logger.info("platforms synced", extra={"user_id": user_id, "platforms": sorted(readings)})
            return _profile_response(profile, message)

        return replay(http, user_id, request, run)

    return Route("POST", path, sync, _STATUS)


def social_fetch_api() -> Route:
    """POST /api/v1/social/fetch: a handle's numbers on any platform, fetched (or cached), not stored.

    Errors come in the app's shape, {"success": false, "error": "<short>", "message": "..."}.
    """
    # Imported here: only this function's containers fetch on every request.
    from social_sync.social_fetch import fetch_numbers

    settings = Settings.from_env()
    fetcher = _account_fetcher(settings)
    table = settings.fetch_state_table_name
    cache = DynamoFetchState(aws.dynamodb(), table) if table else None

    def social_fetch(http: HttpRequest) -> dict[str, Any]:
        caller_id(http)
        request = parse_body(http, SocialFetchRequest)
        fetch = fetcher(Deadline.before_timeout(http.context, ANSWER_MARGIN_SECONDS))
        numbers = fetch_numbers(request, fetch, cache, utc_now(), settings.social_fetch_cache_seconds)
        return {"success": True, "data": numbers.to_wire()}

    return Route("POST", f"{API_PREFIX}/social/fetch", social_fetch, _STATUS, social_fetch_error)


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


def stats_history_api() -> Route:
    """GET /api/v1/profiles/me/stats/history: the caller's data points and growth over a window."""
    _, store = _dependencies()

    def history(http: HttpRequest) -> dict[str, Any]:
        query = parse_query(http, HistoryQuery)
        page = stats_history(store, caller_id(http), query, utc_now())
        return {"success": True, **page.to_wire()}

    return Route("GET", f"{API_PREFIX}/profiles/me/stats/history", history, _STATUS)


def get_profile_api() -> Route:
    """GET /api/v1/profiles/me: the caller's profile."""
    _, store = _dependencies()

    def read(http: HttpRequest) -> dict[str, Any]:
        return _profile_response(get_profile(store, caller_id(http)))

    return Route("GET", f"{API_PREFIX}/profiles/me", read, _STATUS)


def update_profile_api() -> Route:
    """PUT /api/v1/profiles/me: change the caller's editable fields."""
    settings, store = _dependencies()

    def update(http: HttpRequest) -> dict[str, Any]:
        user_id = caller_id(http)
        changes = parse_body(http, ProfileUpdate)
        profile = update_profile(store, user_id, changes, utc_now(), attempts=settings.write_attempts)
        return _profile_response(profile, "Profile updated successfully")

    return Route("PUT", f"{API_PREFIX}/profiles/me", update, _STATUS)


LINKED_ACCOUNT = f"{API_PREFIX}/profiles/me/linked-accounts/{{platform}}"


def linked_account_code_api() -> Route:
    """POST /api/v1/profiles/me/linked-accounts/{platform}/code: a one-time code for the account's bio."""
    # Imported here: the other functions never verify, and their cold starts should not pay for it.
    from social_sync.verification import issue_code, known_platform

    settings, store = _dependencies()
    verifications = _verification_store(settings, store)

    def issue(http: HttpRequest) -> dict[str, Any]:
        user_id = caller_id(http)
        platform = known_platform(http.path_parameters.get("platform"))
        request = parse_body(http, LinkedAccountRequest)
        issued = issue_code(verifications, settings, user_id, platform, request.handle, utc_now())
        logger.info("verification code issued", extra={"user_id": user_id, "platform": platform})
        return {"success": True, **issued.to_wire()}

    return Route("POST", f"{LINKED_ACCOUNT}/code", issue, _STATUS)


def verify_linked_account_api() -> Route:
    """POST /api/v1/profiles/me/linked-accounts/{platform}/verify: the code is in the bio, so it is yours."""
    # Imported here, as in linked_account_code_api: the other functions never verify.
    from social_sync.verification import known_platform, verify_account

    settings, store = _dependencies()
    verifications = _verification_store(settings, store)
    publisher = _publisher(settings)
    fetcher = _account_fetcher(settings)

    def verify(http: HttpRequest) -> dict[str, Any]:
        user_id = caller_id(http)
        platform = known_platform(http.path_parameters.get("platform"))
        request = parse_body(http, LinkedAccountRequest)
        fetch = fetcher(Deadline.before_timeout(http.context, ANSWER_MARGIN_SECONDS))
        profile = verify_account(
            verifications, settings, user_id, platform, request.handle, fetch, utc_now, publisher=publisher
        )
        handle = (profile.verified_accounts or {})[platform].handle
        logger.info("linked account verified", extra={"user_id": user_id, "platform": platform})
        return _profile_response(profile, f"{platform.capitalize()} account {handle} verified")

    return Route("POST", f"{LINKED_ACCOUNT}/verify", verify, _STATUS)


def caller_id(http: HttpRequest) -> str:
    """The caller the HTTP API's authorizer verified; the only source of the caller's identity."""
    caller = http.caller
    if caller is None:
        raise Unauthenticated("Unauthorized")
    if len(caller) > MAX_USER_ID_LENGTH:
        # It could never be stored (DynamoDB keys) nor queued for the scheduled sync.
        raise Unauthenticated(f"Unauthorized: the caller's id is over {MAX_USER_ID_LENGTH} characters")
    return caller


def parse_body(http: HttpRequest, model: type[RequestT]) -> RequestT:
    """The request body as `model`, or InvalidRequest / PayloadTooLarge saying what is wrong."""
    raw = http.body
    try:
        # surrogatepass: a lone surrogate in the event's text is refused below as bad UTF-8, not a crash.
        data = (
            base64.b64decode(raw, validate=True)
            if http.is_base64_encoded
            else raw.encode("utf-8", "surrogatepass")
        )
    except (binascii.Error, ValueError) as error:
        raise InvalidRequest("The request body must be JSON") from error
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The request body is over {MAX_BODY_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidRequest("The request body must be JSON in UTF-8") from error
    if _nesting_depth(text) > MAX_BODY_DEPTH:
        raise InvalidRequest(f"The request body nests deeper than {MAX_BODY_DEPTH} levels")
    try:
        payload = json.loads(text)
        # A \ud800 escape decodes to a lone surrogate, which is no text at all: refuse it here.
        json.dumps(payload, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidRequest("The request body must be JSON in UTF-8") from error
    except (ValueError, RecursionError) as error:
        raise InvalidRequest("The request body must be JSON") from error
    if not isinstance(payload, dict):
        raise InvalidRequest("The request body must be a JSON object")
    return _validate(model, payload, "request body")


def _nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in a JSON text, counted without parsing it (strings skipped)."""
    depth = deepest = 0
    for char in _JSON_STRING.sub("", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_query(http: HttpRequest, model: type[RequestT]) -> RequestT:
    """The query string as `model`, or InvalidRequest saying what is wrong."""
    return _validate(model, http.query, "query")


def _validate(model: type[RequestT], data: dict[str, Any], part: str) -> RequestT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [_field_error(detail) for detail in error.errors()]
        summary = "; ".join(f"{problem.field}: {problem.message}" for problem in problems)
        raise InvalidRequest(f"Invalid {part}: {summary}", problems) from error


# Pydantic's messages speak of Python ("Input should be a valid dictionary"); these speak of JSON.
_FIELD_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a field this request takes",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "greater_than_equal": "must be at least {ge}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must have at least {min_length} item(s)",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_short": "must be at least {min_length} character(s) long",
    "string_too_long": "must be at most {max_length} characters long",
    "string_pattern_mismatch": "has characters that are not allowed",
    "literal_error": "must be one of {expected}",
    "url_parsing": "must be an http(s) URL",
    "url_scheme": "must be an http(s) URL",
    "url_too_long": "must be an http(s) URL of at most {max_length} characters",
    "datetime_parsing": "must be an ISO 8601 date or time",
    "datetime_from_date_parsing": "must be an ISO 8601 date or time",
    "datetime_type": "must be an ISO 8601 date or time",
}


def _field_error(detail: Any) -> FieldError:
    # "[key]" is pydantic's marker for a bad dict key: the path up to it already names the key.
    parts = [part for part in detail["loc"] if part != "[key]"]
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts).lstrip(".")
    template = _FIELD_MESSAGES.get(detail["type"])
    if template is not None:
        message = template.format(**detail.get("ctx", {}))
    else:
        message = str(detail["msg"]).removeprefix("Value error, ")
    return FieldError(field=path or "body", message=message)


def _dependencies() -> tuple[Settings, DynamoProfileStore]:
    settings = Settings.from_env()
    store = DynamoProfileStore(
        aws.dynamodb(),
        settings.table_name,
        history_retention_days=settings.history_retention_days,
        write_attempts=settings.write_attempts,
    )
    return settings, store


def _verification_store(settings: Settings, profiles: DynamoProfileStore) -> DynamoVerificationStore:
    from social_sync.verification_store import DynamoVerificationStore

    return DynamoVerificationStore(
        aws.dynamodb(), settings.table_name, profiles, write_attempts=settings.write_attempts
    )


Replayer = Callable[[HttpRequest, str, BaseModel, Callable[[], dict[str, Any]]], dict[str, Any]]


def _replayer(settings: Settings, route: str) -> Replayer:
    """Runs a write at most once per (caller, Idempotency-Key): a retry gets the first response back.

    A different body under a used key is 422; a retry while the first is still running is 409.
    Without the header, or with no idempotency table configured, the write simply runs.
    """
    table = settings.idempotency_table_name
    if table is None:
        return lambda http, user_id, request, run: run()
    guard: Callable[..., dict[str, Any]] | None = None

    def replay(
        http: HttpRequest, user_id: str, body: BaseModel, run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        nonlocal guard
        key = http.headers.get("idempotency-key")
        if key is None:
            return run()
        if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise InvalidRequest(
                "Idempotency-Key must be 1 to 255 printable characters",
                [FieldError("Idempotency-Key", "must be 1 to 255 printable characters")],
            )
        if guard is None:
            guard = _idempotency_guard(table, settings.idempotency_ttl_seconds, route)
        request = {"user": user_id, "key": key, "body": body.model_dump(mode="json", exclude_unset=True)}
        return guard(http.context, request, run)

    return replay


def _idempotency_guard(table: str, ttl_seconds: int, route: str) -> Callable[..., dict[str, Any]]:
    # Built on the first request that carries a key, so cold starts do not pay for the utility.
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[user, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=ttl_seconds,
    )
    persistence = DynamoDBPersistenceLayer(table_name=table, boto3_client=aws.dynamodb())

    @idempotent_function(
        data_keyword_argument="request", persistence_store=persistence, config=config, key_prefix=route
    )
    def once(request: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return run()

    def guarded(
        context: LambdaContext, request: dict[str, Any], run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        config.register_lambda_context(context)
        try:
            return once(request=request, run=run)  # type: ignore[no-any-return]
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body"
            ) from error
        except IdempotencyAlreadyInProgressError as error:
            raise RequestInProgress("A request with this Idempotency-Key is still being processed") from error
        except IdempotencyPersistenceLayerError as error:
            raise StoreUnavailable(
                "The database is unavailable right now; nothing was changed, try again"
            ) from error

    return guarded


def _account_fetcher(settings: Settings) -> Callable[[Deadline], AccountFetcher]:
    """Fetchers from RapidAPI, one per request's deadline; the client (and httpx with it) is built on the
    first fetch, so a numbers-only sync never pays for the import at cold start."""
    client = None

    def for_request(deadline: Deadline) -> AccountFetcher:
        def fetch(platform: Platform, handle: str) -> FetchedAccount:
            nonlocal client
            if client is None:
                from social_sync.rapidapi import INTERACTIVE, rapidapi_client

                client = rapidapi_client(settings, policy=INTERACTIVE, caller="http")
            return client.fetch_account(platform, handle, deadline)

        return fetch

    return for_request


def _publisher(settings: Settings) -> StatsSyncedPublisher | None:
    if settings.event_bus_name is None:
        return None
    # The client is made on first publish, so cold starts do not pay for it.
    return StatsSyncedPublisher(settings.event_bus_name, aws.events)


def _profile_response(profile: Profile, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True}
    if message:
        body["message"] = message
    body["profile"] = profile.to_wire()
    return body
