"""SyncInstagramFunction: POST /api/v1/profiles/social-sync/instagram."""

from social_sync.api import serve, sync_api

route = sync_api("instagram")
lambda_handler = serve(route)
