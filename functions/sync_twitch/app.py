"""SyncTwitchFunction: POST /api/v1/profiles/social-sync/twitch."""

from social_sync.api import serve, sync_api

route = sync_api("twitch")
lambda_handler = serve(route)
