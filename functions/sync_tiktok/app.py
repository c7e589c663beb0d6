"""SyncTikTokFunction: POST /api/v1/profiles/social-sync/tiktok."""

from social_sync.api import serve, sync_api

route = sync_api("tiktok")
lambda_handler = serve(route)
