"""AuthorizerFunction: the HTTP API's Lambda authorizer in AuthMode shared-secret (the app's HS256 tokens)."""

from social_sync.startup import container_init

with container_init():
    from social_sync.authorizer import authorizer_from_env

    lambda_handler = authorizer_from_env()
