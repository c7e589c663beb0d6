"""GetProfileFunction: GET /api/v1/profiles/me."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import get_profile_api, serve

    lambda_handler = serve(get_profile_api())
