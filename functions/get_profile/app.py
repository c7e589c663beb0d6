"""GetProfileFunction: GET /api/v1/profiles/me."""

from social_sync.api import get_profile_api, serve

route = get_profile_api()
lambda_handler = serve(route)
