"""SyncAllFunction: POST /api/v1/profiles/social-sync (several platforms, one atomic write)."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import serve, sync_all_api

    lambda_handler = serve(sync_all_api())
