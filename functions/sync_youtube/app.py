"""SyncYouTubeFunction: POST /api/v1/profiles/social-sync/youtube."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import serve, sync_api

    lambda_handler = serve(sync_api("youtube"))
