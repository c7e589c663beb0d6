"""LinkedAccountCodeFunction: POST /api/v1/profiles/me/linked-accounts/{platform}/code."""

from social_sync.startup import container_init

with container_init():
    from social_sync.api import linked_account_code_api, serve

    lambda_handler = serve(linked_account_code_api())
