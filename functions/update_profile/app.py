"""UpdateProfileFunction: PUT /api/v1/profiles/me."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import serve, update_profile_api

    lambda_handler = serve(update_profile_api())
