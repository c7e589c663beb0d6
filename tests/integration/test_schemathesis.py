"""Property-based requests over every documented route of the local stack (schemathesis).

The schema is the committed openapi.json, which the local API publishes at /api/v1/openapi.json.
For every operation schemathesis sends requests that fit the document and requests that do not,
with a valid bearer token, and checks that no answer is a server error and that every answer,
status and header is documented.

The stack behind it runs with the sync cooldown off, and fetches sync-by-handle accounts from the
fake upstream (recorded handles answer 200, any other is a 404), so a 5xx is always a bug.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from localrun.openapi import DOCUMENT_FILE, OPENAPI_PATH
from tests.fake_rapidapi import FakeRapidApi
from tests.integration.stack import LocalStack

# Per operation and generation mode (valid and invalid data): small enough that the whole suite
# stays within minutes on two cores; SCHEMATHESIS_MAX_EXAMPLES=200 for a deeper run.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    response_headers_conformance,
    content_type_conformance,
]


@pytest.fixture(scope="module")
def fuzzed_api(extra_api: Callable[[dict[str, str]], LocalStack]) -> Iterator[LocalStack]:
    """A local API on the session's DynamoDB Local; RapidAPI and the YouTube Data API: the fake."""
    fake = FakeRapidApi()
    with fake.serve() as upstream_url:
        yield extra_api(
            {
                "SYNC_COOLDOWN_SECONDS": "0",
                "RAPIDAPI_BASE_URL": upstream_url,
                "RAPIDAPI_KEY": "local-fake-key",
                "YOUTUBE_BASE_URL": upstream_url,
                "YOUTUBE_API_KEY": "local-fake-key",
            }
        )


@pytest.fixture(scope="module")
def fuzzer_token(fuzzed_api: LocalStack) -> str:
    """A valid token for a user of this module's own, so fuzzed writes touch nobody else's profile."""
    return fuzzed_api.token(f"fuzzer-{uuid.uuid4()}", exp=2**31 - 1)


# The committed document (tests/localrun/test_openapi.py holds it equal to the generated one, and
# test_the_local_api_publishes_the_committed_document below to the published one). Loaded at import:
# schemathesis's fixture-based loader does not run on pytest 9.
schema = schemathesis.openapi.from_path(DOCUMENT_FILE)
schema.config.generation.update(
    # Negative mode: bodies, queries and headers the document forbids (wrong types, out of range,
    # missing or unknown fields, NUL bytes); each must be a documented 4xx, never a 5xx.
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    allow_x00=True,
    max_examples=MAX_EXAMPLES,
    deterministic=os.environ.get("SCHEMATHESIS_RANDOM") is None,
)


def test_the_local_api_publishes_the_committed_document(fuzzed_api: LocalStack) -> None:
    # Given the running local API
    # When its document is fetched without a token
    reply = fuzzed_api.request("GET", OPENAPI_PATH)

    # Then it is the committed openapi.json, served as JSON
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == json.loads(DOCUMENT_FILE.read_text())


@schema.parametrize()
def test_every_route_answers_as_documented(
    case: Case[Any], fuzzed_api: LocalStack, fuzzer_token: str
) -> None:
    # Given any request the document allows (or one it does not), with a valid token
    # When it is sent to the local API
    # Then no answer is a 5xx, and its status, headers and body are the documented ones
    case.call_and_validate(
        base_url=fuzzed_api.url, headers={"Authorization": f"Bearer {fuzzer_token}"}, checks=CHECKS
    )


# Found by the property-based run above, kept as plain examples so they are checked on every run.
@pytest.mark.parametrize(
    "query",
    [
        "from=2999-01-01T00:00:00Z",  # a window that starts after now (its default end)
        "to=1960-01-01T00:00:00Z",  # a window that ends before 1970 (its default start)
        "from=0079-05-24T05:17:14Z",  # a year before 1000
        "platform=tiktok&from=0025-09-14T03:40:39%2B15:16",
    ],
)
def test_history_windows_found_by_fuzzing_are_answered_as_documented(
    fuzzed_api: LocalStack, fuzzer_token: str, query: str
) -> None:
    # Given a history window at the edges of time
    # When the caller asks for it
    reply = fuzzed_api.request("GET", f"/api/v1/profiles/me/stats/history?{query}", token=fuzzer_token)

    # Then it is a page (possibly empty): every such window is a valid one
    assert reply.status == 200, reply.body
    page = reply.json()
    assert page["success"] is True
    assert isinstance(page["history"], list)
