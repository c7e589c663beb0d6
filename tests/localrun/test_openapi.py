"""The OpenAPI document: committed = generated, valid OpenAPI 3.1, every template route, the models' rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from pydantic import BaseModel, ValidationError

from localrun import stack
from localrun.events import HttpRequest
from localrun.issuer import LocalIssuer
from localrun.openapi import (
    DOCUMENT_FILE,
    OPENAPI_PATH,
    UndocumentedRoute,
    build_document,
    render,
    template_routes,
)
from localrun.server import LocalApi
from localrun.settings import REPO_ROOT, load_settings
from localrun.template import SamTemplate
from social_sync import models

TEMPLATE = REPO_ROOT / "template.yaml"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document()


def schema_accepts(document: dict[str, Any], component: str, body: Any) -> bool:
    """Whether `body` is valid against components.schemas[component] (refs resolved in the document)."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    return Draft202012Validator(schema).is_valid(body)


def model_accepts(model: type[BaseModel], body: Any) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


def test_the_committed_document_is_the_generated_one(document: dict[str, Any]) -> None:
    # Given the models and template as they are now
    # When the document is generated
    # Then it is exactly the committed openapi.json (else: run `make openapi` and commit it)
    assert DOCUMENT_FILE.read_text() == render(document), "openapi.json is stale: run `make openapi`"


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(document)  # raises on anything OpenAPI 3.1 (and its JSON Schema dialect) does not allow


def test_every_route_of_the_template_is_documented_and_nothing_else(document: dict[str, Any]) -> None:
    declared = {(route.method.lower(), route.path) for route in template_routes(SamTemplate(TEMPLATE))}
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented == declared
    # A sync per platform, sync-all, history, profile read and update, /social/fetch, linked-account
    # code and verify.
    assert len(declared) == len(models.PLATFORMS) + 7


def _template_with(tmp_path: Path, old: str, new: str) -> Path:
    text = TEMPLATE.read_text()
    assert old in text
    changed = tmp_path / "template.yaml"
    changed.write_text(text.replace(old, new, 1))
    return changed


def test_a_route_added_to_the_template_without_documentation_stops_the_generator(tmp_path: Path) -> None:
    # Given a template with one route more than the document describes
    extra_route = """
  DeleteProfileFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/get_profile/
      Events:
        Delete:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Method: DELETE
            Path: /api/v1/profiles/me

Outputs:"""
    template = _template_with(tmp_path, "\nOutputs:", extra_route)

    # When the document is generated, Then the undocumented route is named
    with pytest.raises(UndocumentedRoute, match="DELETE /api/v1/profiles/me"):
        build_document(template)


def test_a_documented_route_the_template_no_longer_declares_stops_the_generator(tmp_path: Path) -> None:
    template = _template_with(
        tmp_path, "Path: /api/v1/profiles/me/stats/history", "Path: /api/v1/profiles/me/growth"
    )

    with pytest.raises(UndocumentedRoute) as raised:
        build_document(template)
    assert "GET /api/v1/profiles/me/growth" in str(raised.value)


def test_every_route_needs_a_bearer_jwt_and_documents_its_errors(document: dict[str, Any]) -> None:
    assert document["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert {"200", "401", "500", "503"} <= statuses, (method, path)
            for status, response in operation["responses"].items():
                schema = response["content"]["application/json"]["schema"]
                if status != "200":
                    assert "ErrorResponse" in json.dumps(schema), (method, path, status)
                if status in ("429", "503"):
                    assert "Retry-After" in response["headers"], (method, path, status)
            if "social-sync" in path:
                assert {"400", "403", "404", "413", "429", "502", "504"} <= statuses, path
            if "requestBody" in operation:
                assert {"400", "413"} <= statuses, (method, path)


def test_response_envelopes_refuse_anything_the_contract_does_not_name(document: dict[str, Any]) -> None:
    error = {"success": False, "message": "Invalid request body", "errors": [{"field": "x", "message": "y"}]}
    assert schema_accepts(document, "ErrorResponse", error)
    assert not schema_accepts(document, "ErrorResponse", {**error, "trace": "Traceback ..."})
    assert not schema_accepts(document, "ErrorResponse", {**error, "success": True})
    assert schema_accepts(document, "GatewayError", {"message": "Unauthorized"})
    profile = {
        "userId": "u",
        "createdAt": "2026-11-23T10:00:00.000Z",
        "updatedAt": "2026-11-23T10:00:00.000Z",
    }
    assert schema_accepts(
        document, "SocialSyncResponse", {"success": True, "message": "m", "profile": profile}
    )
    assert not schema_accepts(document, "SocialSyncResponse", {"success": True, "profile": profile})


# (component, body, accepted): the rules the request models enforce, including those in validators.
REQUEST_CASES: list[tuple[str, Any, bool]] = [
    ("SocialSyncRequest", {"followers": 1000, "engagement": 7.5}, True),
    ("SocialSyncRequest", {"followers": 0}, True),
    ("SocialSyncRequest", {"engagement": 100}, True),
    ("SocialSyncRequest", {"usernameOrId": "@charlidamelio"}, True),
    ("SocialSyncRequest", {}, False),  # neither kind
    ("SocialSyncRequest", {"followers": 1, "usernameOrId": "x"}, False),  # both kinds
    ("SocialSyncRequest", {"followers": None}, False),  # null is refused, not "left out"
    ("SocialSyncRequest", {"followers": "1000"}, False),
    ("SocialSyncRequest", {"followers": True}, False),
    ("SocialSyncRequest", {"followers": 10_000_000_001}, False),
    ("SocialSyncRequest", {"followers": -1}, False),
    ("SocialSyncRequest", {"engagement": 100.5}, False),
    ("SocialSyncRequest", {"usernameOrId": "a b"}, False),
    ("SocialSyncRequest", {"followers": 1, "extra": 1}, False),
    (
        "SocialSyncAllRequest",
        {"platforms": {"tiktok": {"followers": 1}, "twitch": {"usernameOrId": "n"}}},
        True,
    ),
    ("SocialSyncAllRequest", {"platforms": {}}, False),
    ("SocialSyncAllRequest", {"platforms": {"youtube": {"followers": 1}}}, True),
    ("SocialSyncAllRequest", {"platforms": {"facebook": {"followers": 1}}}, False),
    ("SocialSyncAllRequest", {"platforms": {"tiktok": {}}}, False),
    ("ProfileUpdate", {"displayName": "Charli", "niche": ["dance"], "location": {"city": "Norwalk"}}, True),
    ("ProfileUpdate", {"socialLinks": {"tiktok": "https://www.tiktok.com/@charli"}}, True),
    ("ProfileUpdate", {"linkedAccounts": {"twitch": "ninja"}, "syncSettings": {"autoSync": True}}, True),
    ("ProfileUpdate", {}, False),  # nothing to change
    ("ProfileUpdate", {"stats": {}}, False),  # read-only
    ("ProfileUpdate", {"userId": "someone-else"}, False),
    ("ProfileUpdate", {"bio": None}, False),
    ("ProfileUpdate", {"socialLinks": {"Not A Platform!": "https://example.com"}}, False),
    ("ProfileUpdate", {"linkedAccounts": {"youtube": "mkbhd"}}, True),
    ("ProfileUpdate", {"linkedAccounts": {"facebook": "x"}}, False),
    ("ProfileUpdate", {"syncSettings": {"frequency": "daily"}}, False),  # autoSync is required
    ("ProfileUpdate", {"username": "ab"}, False),
    ("ProfileUpdate", {"unknown": 1}, False),
    ("SocialFetchRequest", {"platform": "youtube", "username": "mkbhd"}, True),
    ("SocialFetchRequest", {"platform": "tiktok", "username": "@charlidamelio"}, True),
    ("SocialFetchRequest", {"platform": "facebook", "username": "nasa"}, False),
    ("SocialFetchRequest", {"platform": "twitch", "username": ""}, False),
    ("SocialFetchRequest", {"platform": "twitch", "username": "a b"}, False),
    ("SocialFetchRequest", {"platform": "twitch"}, False),
    ("SocialFetchRequest", {"platform": "twitch", "username": "ninja", "extra": 1}, False),
]


@pytest.mark.parametrize(("component", "body", "accepted"), REQUEST_CASES)
def test_the_documented_request_schemas_accept_what_the_models_accept(
    document: dict[str, Any], component: str, body: Any, accepted: bool
) -> None:
    # Given a request body, When both the model and the document judge it, Then they agree
    assert model_accepts(getattr(models, component), body) is accepted
    assert schema_accepts(document, component, body) is accepted


def test_the_history_query_is_documented_as_query_parameters(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/profiles/me/stats/history"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"platform", "from", "to", "limit", "cursor"}
    assert all(parameter["in"] == "query" and not parameter["required"] for parameter in parameters.values())
    assert parameters["limit"]["schema"] == {"default": 100, "maximum": 500, "minimum": 1, "type": "integer"}
    assert parameters["from"]["schema"] == {"format": "date-time", "type": "string"}


def test_the_local_api_serves_the_document_without_a_token(tmp_path: Path, document: dict[str, Any]) -> None:
    # Given the local API given the document, as `make run` gives it (no routes needed: the document
    # is not behind the authorizer)
    issuer = LocalIssuer.load_or_create(tmp_path, "http://127.0.0.1:3000/local-issuer", "social-sync-local")
    documents = {OPENAPI_PATH: document}
    api = LocalApi(
        [], {}, {}, {}, issuer, None, "us-east-1", 3000, log=lambda line: None, documents=documents
    )

    # When the document is asked for with no Authorization header
    response = api.handle(HttpRequest("GET", OPENAPI_PATH, "", [], b"", "127.0.0.1"))

    # Then it is the committed openapi.json
    assert response.status == 200
    assert ("content-type", "application/json") in response.headers
    assert json.loads(response.body) == json.loads(DOCUMENT_FILE.read_text())


def test_make_run_hands_the_generated_document_to_the_local_api_or_says_why_not(
    document: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = load_settings(port=3000, dynamodb_port=8000, state_dir=tmp_path)
    # Given the template as it is, `make run` serves the document generated from it
    assert stack.api_documents(settings) == {OPENAPI_PATH: document}

    # Given a route the generator has no description of yet
    def undocumented(template_path: Path) -> dict[str, Any]:
        raise UndocumentedRoute("template.yaml declares routes the document does not describe: GET /x")

    monkeypatch.setattr(stack, "build_document", undocumented)

    # Then `make run` still starts, without a generated document (DocsFunction's route serves the committed
    # openapi.json), and says why
    assert stack.api_documents(settings) == {}
    assert "GET /x" in capsys.readouterr().out


def examples(document: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, value) for every request and response example of the document."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                assert body.get("examples"), f"{method} {path}: no request example"
                for name, example in body["examples"].items():
                    found.append((f"{method} {path} request {name}", body["schema"], example["value"]))
            for status, response in operation["responses"].items():
                content = response["content"]["application/json"]
                assert "example" in content, f"{method} {path} {status}: no example"
                found.append((f"{method} {path} {status}", content["schema"], content["example"]))
    return found


def test_every_body_and_response_has_an_example_its_schema_accepts(document: dict[str, Any]) -> None:
    # Given every example of the document (the docs page shows them, "Try it out" starts from them)
    found = examples(document)
    assert found
    for where, schema, value in found:
        # Then its own schema accepts it
        assert Draft202012Validator({**schema, "components": document["components"]}).is_valid(value), where


def test_request_examples_are_bodies_the_models_accept_starting_with_the_seed(
    document: dict[str, Any],
) -> None:
    bodies_of = {
        (method, path): operation["requestBody"]["content"]["application/json"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    }
    assert bodies_of
    for route, content in bodies_of.items():
        model = getattr(models, content["schema"]["$ref"].split("/")[-1])
        bodies = [example["value"] for example in content["examples"].values()]
        assert all(model_accepts(model, body) for body in bodies), route
        if route[1].startswith("/api/v1/profiles/social-sync/"):
            # "Try it out" starts from the contract's seed sync
            assert bodies[0] == {"followers": 1000, "engagement": 7.5}, route


def test_profile_examples_are_what_the_profile_model_serializes(document: dict[str, Any]) -> None:
    profiles = [
        (method, path, example["profile"])
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for example in [operation["responses"]["200"]["content"]["application/json"]["example"]]
        if "profile" in example
    ]
    # every route that answers with a profile: the syncs, the profile read and update, the verification
    answering_a_profile = [
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
            ("/SocialSyncResponse", "/ProfileResponse")
        )
    ]
    assert [(method, path) for method, path, _ in profiles] == answering_a_profile
    for method, path, profile in profiles:
        # Then the model reads it and writes it back unchanged: no key it does not know, none missing
        assert models.Profile.model_validate(profile).to_wire() == profile, (method, path)


def test_a_status_is_described_by_the_errors_its_route_answers_with_alone(document: dict[str, Any]) -> None:
    # Given the sync route and the profile read, whose 503s come from different errors of the one table
    sync = document["paths"]["/api/v1/profiles/social-sync/tiktok"]["post"]["responses"]
    read = document["paths"]["/api/v1/profiles/me"]["get"]["responses"]

    # Then a read's 503 is the database alone (no race between writers can happen on a read), while a
    # sync's also says that writers raced; and a sync's 404 never speaks of a missing profile
    assert "Other writers" not in read["503"]["description"]
    assert "Other writers" in sync["503"]["description"]
    assert "no profile" not in sync["404"]["description"]
