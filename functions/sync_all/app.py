"""SyncAllFunction: POST /api/v1/profiles/social-sync (several platforms, one atomic write)."""

from social_sync.api import serve, sync_all_api

route = sync_all_api()
lambda_handler = serve(route)
