"""A benchmark peer, not part of the service: the TikTok sync route as a FastAPI app behind Mangum,
the single-function design a team would commonly pick instead. Same validation, same DynamoDB client."""

from __future__ import annotations

from typing import Annotated

import boto3
from fastapi import FastAPI
from mangum import Mangum
from pydantic import BaseModel, ConfigDict, Field, StrictInt

dynamodb = boto3.client("dynamodb")
api = FastAPI()


class SocialSyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    followers: Annotated[StrictInt, Field(ge=0, le=10_000_000_000)] | None = None
    engagement: Annotated[float, Field(ge=0, le=100)] | None = None


@api.post("/api/v1/profiles/social-sync/{platform}")
def sync(platform: str, request: SocialSyncRequest) -> dict[str, object]:
    return {"success": True, "message": f"Social media {platform.capitalize()} synced successfully"}


lambda_handler = Mangum(api, lifespan="off")
