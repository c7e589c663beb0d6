"""UpdateProfileFunction: PUT /api/v1/profiles/me."""

from social_sync.api import serve, update_profile_api

route = update_profile_api()
lambda_handler = serve(route)
