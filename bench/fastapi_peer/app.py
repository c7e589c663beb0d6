"""A benchmark peer, not part of the service: the TikTok sync route as a FastAPI app behind Mangum,
the single-function design a team would commonly pick instead.

Only the HTTP edge is FastAPI's: the route does the same work with the same layer code (settings
checked at start-up, the request model, the profile logic, the DynamoDB store, Powertools Logger),
and creates its DynamoDB client the way such an app usually does, with boto3 at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from fastapi import FastAPI, Request
from mangum import Mangum

from social_sync.models import Platform, SocialSyncRequest, utc_now
from social_sync.profiles import request_readings, sync_platforms
from social_sync.settings import Settings
from social_sync.store import DynamoProfileStore

if TYPE_CHECKING:
    from social_sync.providers import FetchedAccount

logger = Logger()
settings = Settings.from_env()
store = DynamoProfileStore(
    boto3.client("dynamodb"),
    settings.table_name,
    history_retention_days=settings.history_retention_days,
    write_attempts=settings.write_attempts,
)
api = FastAPI()


def fetch(platform: Platform, handle: str) -> FetchedAccount:
    from social_sync.rapidapi import INTERACTIVE, rapidapi_client

    return rapidapi_client(settings, policy=INTERACTIVE, caller="http").fetch_account(platform, handle)


@api.post("/api/v1/profiles/social-sync/{platform}")
def sync(platform: Platform, body: SocialSyncRequest, request: Request) -> dict[str, Any]:
    user_id = request.scope["aws.event"]["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    readings, linked = request_readings(store, settings, user_id, {platform: body}, fetch, utc_now())
    profile = sync_platforms(store, settings, user_id, readings, utc_now, link=linked)
    logger.info("platforms synced", extra={"user_id": user_id, "platforms": sorted(readings)})
    return {
        "success": True,
        "message": f"Social media {platform.capitalize()} synced successfully",
        "profile": profile.to_wire(),
    }


lambda_handler = logger.inject_lambda_context(Mangum(api, lifespan="off"))
