"""SyncTwitterFunction: POST /api/v1/profiles/social-sync/twitter."""

from social_sync.api import serve, sync_api

route = sync_api("twitter")
lambda_handler = serve(route)
