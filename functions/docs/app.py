"""DocsFunction: GET /api/v1/docs (Swagger UI), its assets and GET /api/v1/openapi.json, with no token."""

from pathlib import Path

from social_sync.startup import container_init

with container_init():
    from social_sync.docs import docs_handler

    # The page, Swagger UI's files and the document sit beside this module (functions/docs/Makefile).
    lambda_handler = docs_handler(Path(__file__).parent)
