"""VerifyLinkedAccountFunction: POST /api/v1/profiles/me/linked-accounts/{platform}/verify."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import serve, verify_linked_account_api

    lambda_handler = serve(verify_linked_account_api())
