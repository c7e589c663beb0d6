"""DocsFunction: GET /api/v1/docs (Swagger UI), its assets and GET /api/v1/openapi.json, with no token."""

from pathlib import Path

# Not under container_init: the standard library alone, nothing to pause collection for. And the
# local API, which loads every function into one process (this one first), freezes at the first
# container_init: here it would leave the other functions' imports unfrozen.
from social_sync.docs import docs_handler

# The page, Swagger UI's files and the document sit beside this module (functions/docs/Makefile).
lambda_handler = docs_handler(Path(__file__).parent)
