"""The API's OpenAPI 3.1 document, generated from template.yaml's routes and the layer's pydantic models.

Every HttpApi route the template declares is documented, and nothing else: a route without an
entry in `_operations` (or an entry without a route) stops the generator, so the document
cannot drift from what `sam deploy` builds. Request and response schemas come from the models
the handlers validate and serialize with (JSON Schema by alias), so they cannot drift either.

    python -m localrun.openapi           # writes openapi.json at the repository root (make openapi)
    python -m localrun.openapi --check   # exit 1 when the committed openapi.json is stale

`make run` (localrun.stack) hands the document to the local API, which serves it at
GET /api/v1/openapi.json (no token needed); the emulator itself never imports this module, nor is
anything here deployed: the functions never import it either.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from localrun.parameters import template_resolver
from localrun.runtime import add_layers_to_path
from localrun.settings import REPO_ROOT, load_settings
from localrun.template import RouteSpec, SamTemplate

if TYPE_CHECKING:
    from types import ModuleType

OPENAPI_PATH = "/api/v1/openapi.json"
# Serves the docs page (Swagger UI over this document) and the document itself, without a token.
DOCS_FUNCTION = "DocsFunction"
DOCUMENT_FILE = REPO_ROOT / "openapi.json"
SCHEMAS = "#/components/schemas/"
BEARER = "bearerAuth"
AUTHORIZE_HOWTO = (
    "Locally (`make run`), `make token SUB=alice` prints a token for user alice, valid for an hour "
    "(run it with the same settings as `make run`, `PORT` and the like). Deployed, use a token the "
    "stack's authorizer accepts "
    "(see the README's Deploying section). Click **Authorize** and paste the token alone, without "
    "`Bearer `."
)


class UndocumentedRoute(Exception):
    """The template and the document's operations disagree about which routes exist."""


# --- JSON Schema from the models ------------------------------------------------------------------------


class WireJsonSchema(GenerateJsonSchema):
    """Pydantic's JSON Schema, saying what actually crosses the wire.

    - No `null`: request models refuse explicit nulls, and responses leave out what is unknown
      (`to_wire` dumps with exclude_none), so `X | None` is documented as an optional X.
    - Timestamps are `date-time` strings: `format_timestamp` is the serializer the models use.
    - A dict whose keys have a pattern takes no other keys (pydantic validates every key).
    - No titles made up from field names ("Followersfirst"); the models' docstrings stay.
    """

    timestamp_serializer: Any = None

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        """The inner schema alone: null is never sent or accepted."""
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        """A None default means "left out", which an optional property already says."""
        if schema.get("default", ...) is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)

    def ser_schema(
        self,
        schema: core_schema.SerSchema | core_schema.IncExSeqSerSchema | core_schema.IncExDictSerSchema,
    ) -> JsonSchemaValue | None:
        """The models' timestamp serializer writes ISO 8601 UTC: say so with `format: date-time`."""
        if schema.get("type") == "function-plain" and schema.get("function") is self.timestamp_serializer:
            return {"type": "string", "format": "date-time"}
        return super().ser_schema(schema)

    def dict_schema(self, schema: core_schema.DictSchema) -> JsonSchemaValue:
        """A dict whose keys have a pattern takes no other keys: pydantic validates every key."""
        json_schema = super().dict_schema(schema)
        if "patternProperties" in json_schema:
            json_schema.setdefault("additionalProperties", False)
        return json_schema

    def field_title_should_be_set(self, schema: Any) -> bool:
        """Never: a title made from a field's own name adds nothing to the document."""
        return False


def load_layer_models(template: SamTemplate) -> ModuleType:
    """social_sync.models, imported from the layer folder the template's functions use (as Lambda does)."""
    for function in template.functions().values():
        add_layers_to_path(function)
    from social_sync import models

    return models


@dataclass(frozen=True)
class WireModels:
    """The request and response models of the API, as the handlers use them."""

    requests: Sequence[type[BaseModel]]
    responses: Sequence[type[BaseModel]]
    history_query: type[BaseModel]


def wire_models(models: ModuleType) -> WireModels:
    """The layer's models: the requests the handlers validate and the answers they send."""

    class GatewayError(BaseModel):
        """An answer API Gateway gives itself, before any function runs (bad token, unknown route)."""

        model_config = ConfigDict(extra="forbid")

        message: str

    return WireModels(
        requests=[
            models.SocialSyncRequest,
            models.SocialSyncAllRequest,
            models.ProfileUpdate,
            models.LinkedAccountRequest,
            models.SocialFetchRequest,
        ],
        responses=[
            models.SocialSyncResponse,
            models.ProfileResponse,
            models.HistoryResponse,
            models.VerificationCodeResponse,
            models.ErrorResponse,
            GatewayError,
            models.SocialFetchResponse,
            models.SocialFetchErrorResponse,
        ],
        history_query=models.HistoryQuery,
    )


def component_schemas(models: ModuleType, wire: WireModels) -> dict[str, Any]:
    """components.schemas: requests in validation mode, responses in serialization mode, by alias."""
    generator = type(
        "Generator", (WireJsonSchema,), {"timestamp_serializer": staticmethod(models.format_timestamp)}
    )
    _, schema = models_json_schema(
        [(model, "validation") for model in wire.requests]
        + [(model, "serialization") for model in wire.responses],
        by_alias=True,
        ref_template=SCHEMAS + "{model}",
        schema_generator=generator,
    )
    schemas: dict[str, Any] = schema["$defs"]
    _state_cross_field_rules(models, schemas)
    return dict(sorted(schemas.items()))


def _state_cross_field_rules(models: ModuleType, schemas: dict[str, Any]) -> None:
    """What the request models check in validators, said in JSON Schema so generated requests respect it.

    tests/localrun/test_openapi.py holds each rule against the model that enforces it.
    """
    # SocialSyncRequest._one_kind: numbers the app fetched, or a handle to fetch; never both, never neither.
    sync = schemas["SocialSyncRequest"]
    properties = sync.pop("properties")
    handle = models.SocialSyncRequest.model_fields["username_or_id"].alias
    numbers = {name: value for name, value in properties.items() if name != handle}
    sync.pop("additionalProperties")
    sync["oneOf"] = [
        {
            "title": "Numbers the app fetched",
            "type": "object",
            "properties": numbers,
            "additionalProperties": False,
            "minProperties": 1,
        },
        {
            "title": "A handle for the service to fetch",
            "type": "object",
            "properties": {handle: properties[handle]},
            "required": [handle],
            "additionalProperties": False,
        },
    ]
    # ProfileUpdate: the read-only fields exist only to answer "is read-only"; `_not_empty` wants a field.
    update = schemas["ProfileUpdate"]
    for name in models.READ_ONLY_FIELDS:
        update["properties"].pop(name)
    update["minProperties"] = 1
    update["description"] += f" Writing {', '.join(models.READ_ONLY_FIELDS)} is a 400."


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """A query-string model as OpenAPI query parameters, one per field, by alias."""
    schema = model.model_json_schema(by_alias=True, schema_generator=WireJsonSchema)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": value}
        for name, value in schema["properties"].items()
    ]


# --- Operations -----------------------------------------------------------------------------------------

# What a status means where no error of the layer stands for it: API Gateway's own answers, and a bug.
EDGE_STATUS_TEXT = {
    401: "No token, or one the authorizer refuses (API Gateway answers before any function runs).",
    413: "(API Gateway's own limit on a request, 10 MB, answers the same.)",
    503: "Retry-After says when to try again.",
    500: "Something unexpected; never a stack trace or internals.",
}


def status_text(status: int, raises: Sequence[str]) -> str:
    """What `status` means on a route that answers with the errors `raises`: each of them that the
    layer's one table (social_sync.errors.STATUS) gives this status, by its docstring, and then what
    API Gateway itself answers with it."""
    from social_sync import errors

    meanings = [
        " ".join(inspect.cleandoc(getattr(errors, name).__doc__ or "").split())
        for name in raises
        if errors.status_of(getattr(errors, name)) == status
    ]
    return " ".join([*meanings, EDGE_STATUS_TEXT.get(status, "")]).strip()


def statuses_of(raises: Sequence[str]) -> tuple[int, ...]:
    """The statuses of a route that answers with the errors `raises`, and API Gateway's 401 and 500."""
    from social_sync import errors

    return tuple(sorted({errors.status_of(getattr(errors, name)) for name in raises} | {401, 500}))


# What each kind of route can answer with, by the names of the layer's errors (social_sync.errors).
READS = ("Unauthenticated", "StoreUnavailable")
BODIES = ("InvalidRequest", "PayloadTooLarge")
FETCHES = (
    "AccountNotFound",
    "AccountNumbersHidden",
    "FetchLimitReached",
    "PlanExhausted",
    "QuotaExhausted",
    "RapidApiUnavailable",
    "RapidApiTimeout",
)
SYNCS = (
    *BODIES,
    *READS,
    "ClientStatsRefused",
    "AccountNotVerified",
    *FETCHES,
    "SyncTooSoon",
    "RequestInProgress",
    "IdempotencyKeyReused",
    "ConcurrentUpdateConflict",
)
# Statuses API Gateway itself may answer with: its body is {"message": ...} rather than the functions'.
GATEWAY_STATUSES = {401, 413, 500}
RETRY_AFTER_STATUSES = {429, 503}

# --- Examples: what the docs page shows, and fills "Try it out" with (the first request example). ------
# tests/localrun/test_openapi.py holds each one against its schema and the models that make it.

EXAMPLE_USER = "alice"
EXAMPLE_TIME = "2026-11-23T10:00:00.000Z"
# The seed sync (events/sync_tiktok.json) and a second platform for "sync all".
SEED_NUMBERS = {"followers": 1000, "engagement": 7.5}
SECOND_NUMBERS = {"followers": 250, "engagement": 2.5}
EXAMPLE_HANDLE = "charlidamelio"


def _error(message: str, *field_messages: tuple[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {"success": False, "message": message}
    if field_messages:
        body["errors"] = [{"field": field, "message": text} for field, text in field_messages]
    return body


def _fetch_error(code: str, message: str) -> dict[str, Any]:
    """An error of POST /social/fetch, in the app's shape: a short code and a sentence."""
    return {"success": False, "error": code, "message": message}


ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    400: _error(
        "Invalid request body: followers: must be a whole number", ("followers", "must be a whole number")
    ),
    401: {"message": "Unauthorized"},
    403: _error("This deployment only accepts numbers it fetches itself; send usernameOrId instead"),
    409: _error("A request with this Idempotency-Key is still being processed"),
    413: _error("The request body is over 16 KiB"),
    422: _error("This Idempotency-Key was already used with a different request body"),
    500: _error("Something went wrong on our side; try again later"),
    503: _error("The database is unavailable right now; nothing was changed, try again"),
}


def _sync_error_examples(platform: str) -> dict[int, dict[str, Any]]:
    """The errors of a sync that name the platform, as the layer words them."""
    name = platform.capitalize()
    return {
        404: _error(f"No {name} account {EXAMPLE_HANDLE} was found"),
        429: _error(f"{name} was synced less than the cooldown ago; try again in 42 seconds"),
        502: _error(f"RapidAPI is failing for {name} right now; nothing was changed"),
        504: _error(f"RapidAPI did not answer in time for {name}; nothing was changed"),
    }


def _profile_example(numbers: Mapping[str, Mapping[str, Any]], **fields: Any) -> dict[str, Any]:
    """The caller's profile after syncing `numbers` (platform -> followers and engagement) at EXAMPLE_TIME.

    The totals come from the layer's own functions (the layer is on sys.path: see load_layer_models).
    """
    from social_sync.aggregates import follower_weighted_engagement, total_followers
    from social_sync.models import PlatformStats

    breakdown = {
        platform: {**values, "lastSyncedAt": EXAMPLE_TIME, "source": "client", "verified": False}
        for platform, values in numbers.items()
    }
    stats = {platform: PlatformStats.model_validate(entry) for platform, entry in breakdown.items()}
    return {
        "userId": EXAMPLE_USER,
        **fields,
        "stats": {
            "platformBreakdown": breakdown,
            "totalFollowers": total_followers(stats),
            "avgEngagement": follower_weighted_engagement(stats),
        },
        "createdAt": EXAMPLE_TIME,
        "updatedAt": EXAMPLE_TIME,
    }


EXAMPLE_CODE = "SS-7KQ2M9XD"
CODE_EXPIRY = "2026-11-23T10:15:00.000Z"


def _verified_profile_example() -> dict[str, Any]:
    """The profile after verifying the TikTok account: its numbers fetched, marked verified."""
    profile = _profile_example({"tiktok": SEED_NUMBERS}, linkedAccounts={"tiktok": EXAMPLE_HANDLE})
    profile["stats"]["platformBreakdown"]["tiktok"].update(source="rapidapi", verified=True)
    profile["verifiedAccounts"] = {"tiktok": {"handle": EXAMPLE_HANDLE, "verifiedAt": EXAMPLE_TIME}}
    return profile


PROFILE_UPDATE_EXAMPLE = {
    "displayName": "Alice",
    "bio": "Dance and comedy, new videos every Friday",
    "niche": ["dance", "comedy"],
    "location": {"city": "Norwalk", "country": "US"},
    "linkedAccounts": {"tiktok": EXAMPLE_HANDLE},
    "syncSettings": {"autoSync": True, "frequency": "daily"},
}
LATER_TIME = "2026-11-30T10:00:00.000Z"
HISTORY_EXAMPLE = {
    "success": True,
    "history": [
        {
            "platform": "tiktok",
            **SEED_NUMBERS,
            "source": "client",
            "trigger": "user",
            "syncedAt": EXAMPLE_TIME,
        },
        {
            "platform": "tiktok",
            "followers": 1250,
            "engagement": 7.8,
            "source": "rapidapi",
            "trigger": "schedule",
            "syncedAt": LATER_TIME,
        },
    ],
    "growth": {
        "tiktok": {
            "pointsFrom": EXAMPLE_TIME,
            "pointsTo": LATER_TIME,
            "followersFirst": 1000,
            "followersLast": 1250,
            "followersChange": 250,
            "followersChangePercent": 25.0,
            "engagementFirst": 7.5,
            "engagementLast": 7.8,
        }
    },
}


@dataclass(frozen=True)
class Operation:
    """What one route takes and gives, in terms of the wire models."""

    summary: str
    tag: str
    success: str
    # The errors it answers with (social_sync.errors, by name): its statuses and their texts come from these.
    raises: tuple[str, ...]
    request: str | None = None
    query: bool = False
    # The path has a {platform} parameter: one of the platforms (another value is a 404).
    platform_in_path: bool = False
    idempotent: bool = False
    status_text: Mapping[int, str] | None = None
    # Request examples by name (the first fills "Try it out"), the 200 body, and error bodies that
    # differ from ERROR_EXAMPLES.
    request_examples: Mapping[str, Any] | None = None
    success_example: Mapping[str, Any] | None = None
    error_examples: Mapping[int, Any] | None = None
    error: str = "ErrorResponse"

    @property
    def statuses(self) -> tuple[int, ...]:
        return statuses_of(self.raises)


def _operations(platforms: Sequence[str]) -> dict[tuple[str, str], Operation]:
    """Every route the API has, keyed by (method, path) exactly as template.yaml declares it."""
    sync_platform = {
        ("POST", f"/api/v1/profiles/social-sync/{platform}"): Operation(
            summary=f"Sync {platform.capitalize()} numbers into the caller's profile",
            tag="sync",
            request="SocialSyncRequest",
            success="SocialSyncResponse",
            raises=SYNCS,
            idempotent=True,
            request_examples={
                "numbers": {"summary": "Numbers the app fetched", "value": SEED_NUMBERS},
                "handle": {
                    "summary": "A handle: the service fetches the numbers from RapidAPI",
                    "value": {"usernameOrId": EXAMPLE_HANDLE},
                },
            },
            success_example={
                "success": True,
                "message": f"Social media {platform.capitalize()} synced successfully",
                "profile": _profile_example({platform: SEED_NUMBERS}),
            },
            error_examples=_sync_error_examples(platform),
        )
        for platform in platforms
    }
    return {
        **sync_platform,
        ("POST", "/api/v1/profiles/social-sync"): Operation(
            summary="Sync several platforms in one atomic write: all land or none",
            tag="sync",
            request="SocialSyncAllRequest",
            success="SocialSyncResponse",
            raises=SYNCS,
            idempotent=True,
            request_examples={
                "numbers": {
                    "summary": "Two platforms' numbers",
                    "value": {"platforms": {"tiktok": SEED_NUMBERS, "twitch": SECOND_NUMBERS}},
                },
                "mixed": {
                    "summary": "Numbers for one platform, a handle to fetch for another",
                    "value": {"platforms": {"tiktok": SEED_NUMBERS, "instagram": {"usernameOrId": "charli"}}},
                },
            },
            success_example={
                "success": True,
                "message": "Social media synced successfully",
                "profile": _profile_example({"tiktok": SEED_NUMBERS, "twitch": SECOND_NUMBERS}),
            },
            error_examples={
                **_sync_error_examples(platforms[0]),
                400: _error(
                    "Invalid request body: platforms.myspace: must be one of 'tiktok', 'twitch', 'twitter', "
                    "'instagram' or 'youtube'",
                    (
                        "platforms.myspace",
                        "must be one of 'tiktok', 'twitch', 'twitter', 'instagram' or 'youtube'",
                    ),
                ),
            },
        ),
        ("POST", "/api/v1/social/fetch"): Operation(
            summary="A handle's followers and engagement: fetched (cached 5 minutes), never stored",
            tag="fetch",
            request="SocialFetchRequest",
            success="SocialFetchResponse",
            raises=(*BODIES, *READS, *FETCHES),
            error="SocialFetchErrorResponse",
            request_examples={
                "handle": {
                    "summary": "A platform and a handle",
                    "value": {"platform": "tiktok", "username": EXAMPLE_HANDLE},
                }
            },
            success_example={
                "success": True,
                "data": {"followers": 5200, "engagement": 8.3, "engagementKnown": True},
            },
            error_examples={
                400: {
                    **_fetch_error(
                        "unsupported_platform",
                        "Invalid request body: platform: must be one of 'tiktok', 'twitch', 'twitter', "
                        "'instagram' or 'youtube'",
                    ),
                    "errors": [
                        {
                            "field": "platform",
                            "message": "must be one of 'tiktok', 'twitch', 'twitter', 'instagram' or "
                            "'youtube'",
                        }
                    ],
                },
                404: _fetch_error("account_not_found", f"No Tiktok account {EXAMPLE_HANDLE} was found"),
                413: _fetch_error("payload_too_large", "The request body is over 16 KiB"),
                429: _fetch_error(
                    "quota_exceeded", "YouTube's daily quota is spent; try again in 3600 seconds"
                ),
                500: _fetch_error("internal_error", "Something went wrong on our side; try again later"),
                502: _fetch_error("upstream_error", "RapidAPI is failing for Tiktok right now"),
                503: _fetch_error(
                    "service_unavailable",
                    "The database is unavailable right now; nothing was changed, try again",
                ),
                504: _fetch_error("upstream_timeout", "RapidAPI did not answer in time for Tiktok"),
            },
            status_text={
                400: "Bad body, an unknown platform or an empty username (`error`: invalid_request, "
                "unsupported_platform, invalid_username).",
                404: "No such account on the platform (`error` account_not_found), or a YouTube channel that "
                "hides its subscribers (followers_hidden).",
                429: "The platform's request budget is spent (rate_limited), or YouTube's daily quota until "
                "midnight Pacific (quota_exceeded); Retry-After says when to try again.",
            },
        ),
        ("GET", "/api/v1/profiles/me"): Operation(
            summary="The caller's profile",
            tag="profile",
            success="ProfileResponse",
            raises=(*READS, "ProfileNotFound"),
            status_text={404: "No profile yet: sync a platform or update the profile to create it."},
            success_example={"success": True, "profile": _profile_example({"tiktok": SEED_NUMBERS})},
            error_examples={
                404: _error("No profile yet: sync a platform or update your profile to create it")
            },
        ),
        ("PUT", "/api/v1/profiles/me"): Operation(
            summary="Change the caller's editable profile fields (creates the profile if there is none)",
            tag="profile",
            request="ProfileUpdate",
            success="ProfileResponse",
            raises=(*BODIES, *READS, "ConcurrentUpdateConflict"),
            request_examples={"profile": {"summary": "Editable fields", "value": PROFILE_UPDATE_EXAMPLE}},
            success_example={
                "success": True,
                "message": "Profile updated successfully",
                "profile": _profile_example({"tiktok": SEED_NUMBERS}, **PROFILE_UPDATE_EXAMPLE),
            },
            error_examples={
                400: _error("Invalid request body: stats: is read-only", ("stats", "is read-only"))
            },
        ),
        ("POST", "/api/v1/profiles/me/linked-accounts/{platform}/code"): Operation(
            summary="A one-time code to put in the bio of the caller's account on the platform",
            tag="verification",
            request="LinkedAccountRequest",
            success="VerificationCodeResponse",
            raises=(*BODIES, *READS, "UnknownPlatform", "TooManyAttempts"),
            platform_in_path=True,
            request_examples={
                "handle": {"summary": "The caller's account", "value": {"handle": EXAMPLE_HANDLE}}
            },
            success_example={
                "success": True,
                "code": EXAMPLE_CODE,
                "expiresAt": CODE_EXPIRY,
                "message": f"Put {EXAMPLE_CODE} anywhere in the bio of Tiktok account {EXAMPLE_HANDLE}, then "
                f"verify before {CODE_EXPIRY}",
            },
            error_examples={
                404: _error(
                    "There is no platform 'myspace' here; use one of tiktok, twitch, twitter, instagram"
                ),
                429: _error("Too many verification codes this hour (at most 10); try again in 1800 seconds"),
            },
            status_text={
                404: "No such platform.",
                429: "Too many codes this hour (VerificationAttemptsPerHour); Retry-After says when to "
                "try again.",
            },
        ),
        ("POST", "/api/v1/profiles/me/linked-accounts/{platform}/verify"): Operation(
            summary="Verify the account: the caller's code is in its bio, so it is the caller's",
            tag="verification",
            request="LinkedAccountRequest",
            success="ProfileResponse",
            raises=(
                *BODIES,
                *READS,
                "UnknownPlatform",
                "TooManyAttempts",
                "CodeNotUsable",
                "CodeNotInBio",
                *FETCHES,
                "ConcurrentUpdateConflict",
            ),
            platform_in_path=True,
            request_examples={
                "handle": {"summary": "The caller's account", "value": {"handle": EXAMPLE_HANDLE}}
            },
            success_example={"success": True, "profile": _verified_profile_example()},
            error_examples={
                **_sync_error_examples("tiktok"),
                410: _error(
                    f"The code for Tiktok account {EXAMPLE_HANDLE} was already used; ask for a new one "
                    "(POST /api/v1/profiles/me/linked-accounts/tiktok/code)"
                ),
                422: _error(
                    f"Your code is not in the bio of Tiktok account {EXAMPLE_HANDLE} yet. Its bio reads: "
                    "“Dance and comedy”. Put the code anywhere in the bio, save it, and try again "
                    "(a platform can take a minute to show a new bio)"
                ),
                429: _error(
                    "Too many verification attempts this hour (at most 10); try again in 1800 seconds"
                ),
            },
            status_text={
                404: "No such platform, or no such account on it.",
                422: "The code is not in the account's bio (yet); the message quotes the bio that was seen.",
                429: "Too many verify attempts this hour (VerificationAttemptsPerHour); Retry-After says "
                "when to try again.",
            },
        ),
        ("GET", "/api/v1/profiles/me/stats/history"): Operation(
            summary="The caller's data points in time order, and each platform's growth over the window",
            tag="history",
            query=True,
            success="HistoryResponse",
            raises=("InvalidRequest", *READS),
            status_text={
                400: "Bad query: unknown parameter, wrong type, `from` after `to`, or a bad cursor."
            },
            success_example=HISTORY_EXAMPLE,
            error_examples={
                400: _error("Invalid query: limit: must be at most 500", ("limit", "must be at most 500"))
            },
        ),
    }


def _response(status: int, operation: Operation) -> dict[str, Any]:
    text = (operation.status_text or {}).get(status) or status_text(status, operation.raises)
    error = {"$ref": SCHEMAS + operation.error}
    schema = {"anyOf": [error, {"$ref": SCHEMAS + "GatewayError"}]} if status in GATEWAY_STATUSES else error
    example = (operation.error_examples or {}).get(status, ERROR_EXAMPLES.get(status))
    content: dict[str, Any] = {"schema": schema, "example": example}
    response: dict[str, Any] = {"description": text, "content": {"application/json": content}}
    if status in RETRY_AFTER_STATUSES:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


def _operation_object(route: RouteSpec, operation: Operation, query: list[dict[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": route.function_id,
        "summary": operation.summary,
        "tags": [operation.tag],
        "description": f"Served by {route.function_id} (template.yaml).",
    }
    parameters = list(query) if operation.query else []
    if operation.platform_in_path:
        parameters.append({"$ref": "#/components/parameters/platform"})
    if operation.idempotent:
        parameters.append({"$ref": "#/components/parameters/Idempotency-Key"})
    if parameters:
        document["parameters"] = parameters
    if operation.request is not None:
        body: dict[str, Any] = {"schema": {"$ref": SCHEMAS + operation.request}}
        if operation.request_examples:
            body["examples"] = dict(operation.request_examples)
        document["requestBody"] = {
            "required": True,
            "description": "JSON, at most 16 KiB.",
            "content": {"application/json": body},
        }
    success: dict[str, Any] = {"schema": {"$ref": SCHEMAS + operation.success}}
    if operation.success_example is not None:
        success["example"] = dict(operation.success_example)
    responses: dict[str, Any] = {"200": {"description": "Done.", "content": {"application/json": success}}}
    responses |= {str(status): _response(status, operation) for status in sorted(operation.statuses)}
    document["responses"] = responses
    return document


def template_routes(template: SamTemplate) -> list[RouteSpec]:
    """Every route of the API that template.yaml declares, as the local API serves them.

    DocsFunction's routes (the docs page, its assets, this document) are not operations of the API.
    """
    # Routes do not depend on ports or folders; fixed ones keep the environment out of the document.
    settings = load_settings(port=3000, dynamodb_port=8000, state_dir=REPO_ROOT / ".local")
    routes = template.routes(template_resolver(template, settings))
    return [route for route in routes if route.function_id != DOCS_FUNCTION]


def build_document(template_path: Path = REPO_ROOT / "template.yaml") -> dict[str, Any]:
    """The OpenAPI 3.1 document for the template's routes; UndocumentedRoute if the two disagree."""
    template = SamTemplate(template_path)
    models = load_layer_models(template)
    wire = wire_models(models)
    operations = _operations(models.PLATFORMS)
    routes = template_routes(template)
    declared = {(route.method, route.path) for route in routes}
    undocumented = sorted(declared - set(operations))
    if undocumented:
        raise UndocumentedRoute(
            "template.yaml declares routes the OpenAPI document does not describe: "
            + ", ".join(f"{method} {path}" for method, path in undocumented)
            + "; add them to localrun/openapi.py's _operations"
        )
    stale = sorted(set(operations) - declared)
    if stale:
        raise UndocumentedRoute(
            "localrun/openapi.py describes routes template.yaml does not declare: "
            + ", ".join(f"{method} {path}" for method, path in stale)
        )

    query = query_parameters(wire.history_query)
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda route: (route.path, route.method)):
        operation = operations[(route.method, route.path)]
        paths.setdefault(route.path, {})[route.method.lower()] = _operation_object(route, operation, query)

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "Social Sync API",
            "version": project["version"],
            "description": (
                f"{project['description']}. JSON, camelCase on the wire. Every route needs "
                "`Authorization: Bearer <JWT>`; the caller is the token's `sub` (AuthMode oidc) or its "
                "`userId` (AuthMode shared-secret), and a caller only ever reads and writes their own "
                "profile.\n\n"
                f"**Trying it here:** {AUTHORIZE_HOWTO} Then open a route, **Try it out**, "
                "and **Execute**.\n\n"
                "Generated from template.yaml and the layer's pydantic models by localrun/openapi.py."
            ),
        },
        # Relative: the docs page's requests go to the origin that served it, `make run` or ApiUrl.
        "servers": [{"url": "/", "description": "This API (the origin serving this document)"}],
        "security": [{BEARER: []}],
        "tags": [
            {"name": "sync", "description": "Save platform numbers into the caller's profile"},
            {"name": "profile", "description": "The caller's profile"},
            {"name": "history", "description": "Growth over time"},
            {"name": "verification", "description": "Prove a linked account is the caller's with a bio code"},
            {"name": "fetch", "description": "Any handle's numbers, fetched for the app, stored nowhere"},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                BEARER: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "AuthMode oidc: an RS256 JWT checked by the HTTP API's JWT authorizer (iss, aud, "
                        "exp, nbf). AuthMode shared-secret: the app's own HS256 token, checked by the "
                        f"Lambda authorizer (signature, exp, nbf, iat). {AUTHORIZE_HOWTO}"
                    ),
                }
            },
            "parameters": {
                "platform": {
                    "name": "platform",
                    "in": "path",
                    "required": True,
                    "description": "The platform of the account.",
                    "schema": {"type": "string", "enum": list(models.PLATFORMS)},
                },
                "Idempotency-Key": {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "A retry with the same key and body gets the first response back; "
                    "the same key with another body is 422, while the first is still running 409.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                },
            },
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            },
            "schemas": component_schemas(models, wire),
        },
    }
    # Plain JSON values only: the template's strings are cfn-lint's str subclasses.
    plain: dict[str, Any] = json.loads(json.dumps(document))
    return plain


def render(document: Mapping[str, Any]) -> str:
    """The document as it is committed: indented JSON with a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write openapi.json, or with --check say whether the committed one is up to date."""
    parser = argparse.ArgumentParser(prog="python -m localrun.openapi", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    parser.add_argument("--output", type=Path, default=DOCUMENT_FILE, help="where to write (openapi.json)")
    args = parser.parse_args(argv)
    text = render(build_document())
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale; run `make openapi`", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
