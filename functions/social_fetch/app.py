"""SocialFetchFunction: POST /api/v1/social/fetch (a handle's numbers, fetched, not stored)."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import serve, social_fetch_api

    lambda_handler = serve(social_fetch_api())
