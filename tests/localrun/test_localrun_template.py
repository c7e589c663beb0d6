"""localrun reads routes, environment and tables from template.yaml itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from localrun.dynamodb import create_table_request
from localrun.openapi import DOCS_FUNCTION
from localrun.parameters import local_parameter_values, template_resolver
from localrun.runtime import function_environment
from localrun.settings import API_PARAMETER_VARIABLES, REPO_ROOT, LocalSettings
from localrun.template import JwtAuthorizerSpec, LambdaAuthorizerSpec, Resolver, SamTemplate, TemplateError


@pytest.fixture(autouse=True)
def api_parameters_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's own values unless a test sets AUTH_MODE and the like."""
    for variable in API_PARAMETER_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> LocalSettings:
    return LocalSettings(port=3123, dynamodb_port=8123, state_dir=tmp_path, region="eu-west-1")


@pytest.fixture
def template() -> SamTemplate:
    return SamTemplate(REPO_ROOT / "template.yaml")


def test_every_http_api_event_becomes_a_route_guarded_by_the_local_issuer(
    template: SamTemplate, settings: LocalSettings
) -> None:
    declared = {
        (f"{event['Properties']['Method']} {event['Properties']['Path']}", logical_id)
        for logical_id, resource in template.resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }

    routes = template.routes(template_resolver(template, settings))

    assert {(r.route_key, r.function_id) for r in routes} == declared
    assert declared >= {
        ("POST /api/v1/profiles/social-sync/tiktok", "SyncTikTokFunction"),
        ("POST /api/v1/profiles/social-sync/twitch", "SyncTwitchFunction"),
        ("POST /api/v1/profiles/social-sync/twitter", "SyncTwitterFunction"),
        ("POST /api/v1/profiles/social-sync/instagram", "SyncInstagramFunction"),
        ("GET /api/v1/profiles/me", "GetProfileFunction"),
        ("PUT /api/v1/profiles/me", "UpdateProfileFunction"),
    }
    for route in routes:
        if route.function_id == DOCS_FUNCTION:
            # The docs page, its assets and the document are public, as the template declares.
            assert route.authorizer is None, route
            continue
        assert isinstance(route.authorizer, JwtAuthorizerSpec)
        assert route.authorizer.issuer == "http://127.0.0.1:3123/local-issuer"
        assert route.authorizer.audiences == ("social-sync-local",)
        assert route.authorizer.header == "authorization"


def test_the_docs_routes_follow_serve_api_docs_and_the_local_run_serves_them(
    template: SamTemplate, settings: LocalSettings
) -> None:
    docs = {"GET /api/v1/docs", "GET /api/v1/docs/{asset}", "GET /api/v1/openapi.json"}
    # Given the deployed default, ServeApiDocs=false: DocsFunction's Condition fails, so it has no routes
    deployed = template.routes(template.resolver(settings.region, local_parameter_values(template, settings)))
    assert template.data["Parameters"]["ServeApiDocs"]["Default"] == "false"
    assert not docs & {route.route_key for route in deployed}
    assert all(route.authorizer is not None for route in deployed)
    # When the local run reads the template, Then it serves them, and every other route as deployed
    local = template.routes(template_resolver(template, settings))
    assert {route.route_key for route in local} == docs | {route.route_key for route in deployed}
    assert {route.route_key for route in local if route.function_id == DOCS_FUNCTION} == docs


def test_a_functions_environment_is_the_templates_with_local_aws_settings(
    template: SamTemplate, settings: LocalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TABLE_NAME", "SYNC_COOLDOWN_SECONDS", "ENGAGEMENT_AVERAGE"):
        monkeypatch.delenv(name, raising=False)
    function = template.functions()["SyncTikTokFunction"]

    environment = function_environment(template_resolver(template, settings).environment(function), settings)

    assert environment["TABLE_NAME"] == "ProfilesTable"
    assert environment["SYNC_COOLDOWN_SECONDS"] == "60"
    assert environment["ENGAGEMENT_AVERAGE"] == "weighted"
    assert environment["POWERTOOLS_SERVICE_NAME"] == "social-sync"
    assert environment["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:8123"
    assert environment["AWS_REGION"] == "eu-west-1"
    assert function.handler_file == REPO_ROOT / "functions/sync_tiktok/app.py"
    assert function.layer_dirs == (REPO_ROOT / "shared",)


def test_a_variable_set_in_the_shell_overrides_the_templates_value(
    template: SamTemplate, settings: LocalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNC_COOLDOWN_SECONDS", "0")
    function = template.functions()["GetProfileFunction"]

    environment = function_environment(template_resolver(template, settings).environment(function), settings)

    assert environment["SYNC_COOLDOWN_SECONDS"] == "0"


def test_the_table_is_created_exactly_as_the_template_defines_it(
    template: SamTemplate, settings: LocalSettings
) -> None:
    tables = {table.logical_id: table for table in template.tables(template_resolver(template, settings))}
    table = tables["ProfilesTable"]
    declared = template.resources["ProfilesTable"]["Properties"]

    request = create_table_request(table)

    assert request["TableName"] == "ProfilesTable"
    for key in ("AttributeDefinitions", "KeySchema", "LocalSecondaryIndexes", "BillingMode"):
        assert request[key] == declared[key], key
    assert table.properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_cors_comes_from_the_http_api(template: SamTemplate, settings: LocalSettings) -> None:
    cors = template.cors(template_resolver(template, settings))

    assert cors is not None
    assert cors.allow_origins == ("http://localhost:3000", "http://127.0.0.1:3000")
    assert cors.allow_credentials is True
    assert cors.expose_headers == ("retry-after",)
    assert cors.max_age == 600


def test_the_apis_own_parameters_come_from_the_environment(
    template: SamTemplate, settings: LocalSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given AUTH_MODE, CORS_ALLOW_ORIGINS and UPSTREAM_API_URL in the environment of `make run`
    monkeypatch.setenv("AUTH_MODE", "shared-secret")
    monkeypatch.setenv("CORS_ALLOW_ORIGINS", "http://127.0.0.1:4000,https://app.example.com")
    monkeypatch.setenv("UPSTREAM_API_URL", "http://127.0.0.1:9999/base")
    monkeypatch.setenv("AUTHORIZER_CACHE_SECONDS", "7")
    resolver = template_resolver(template, settings)

    # Then every function's route is guarded by the Lambda authorizer, cached per Authorization header
    routes = template.routes(resolver)
    # (but the docs page's, public as the template declares)
    function_routes = [
        route for route in routes if route.http_proxy_uri is None and route.function_id != DOCS_FUNCTION
    ]
    assert function_routes
    for route in function_routes:
        assert route.authorizer == LambdaAuthorizerSpec(
            "SharedSecretAuthorizer", "AuthorizerFunction", "authorization", ttl_seconds=7
        )
    # And unmatched requests go upstream with no authorizer, and CORS names the given origins
    [proxy] = [route for route in routes if route.http_proxy_uri is not None]
    assert (proxy.route_key, proxy.authorizer) == ("ANY /{proxy+}", None)
    assert proxy.http_proxy_uri == "http://127.0.0.1:9999/base/{proxy}"
    cors = template.cors(resolver)
    assert cors is not None
    assert cors.allow_origins == ("http://127.0.0.1:4000", "https://app.example.com")


def test_intrinsics_resolve_to_local_names(template: SamTemplate, settings: LocalSettings) -> None:
    resolver = template_resolver(template, settings)

    assert resolver.resolve({"Fn::GetAtt": ["ProfilesTable", "Arn"]}) == (
        "arn:aws:dynamodb:eu-west-1:123456789012:table/ProfilesTable"
    )
    assert resolver.resolve({"Fn::Sub": "${ProfilesTable}-${AWS::Region}-${!Literal}"}) == (
        "ProfilesTable-eu-west-1-${Literal}"
    )
    assert resolver.resolve({"Fn::Join": ["/", ["a", {"Ref": "LogLevel"}]]}) == "a/INFO"
    with pytest.raises(TemplateError):
        resolver.resolve({"Fn::If": ["Cond", "a", "b"]})


def test_conditions_and_no_value_resolve_as_cloudformation_does() -> None:
    data = {
        "Parameters": {"Topic": {"Type": "String", "Default": ""}},
        "Conditions": {"HasTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Topic"}, ""]}]}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    resolver = Resolver(data, "us-east-1")

    assert resolver.resolve(
        {"Actions": {"Fn::If": ["HasTopic", [{"Ref": "Topic"}], {"Ref": "AWS::NoValue"}]}, "Keep": 1}
    ) == {"Keep": 1}
    assert Resolver(data, "us-east-1", {"Topic": "arn:topic"}).condition("HasTopic") is True
    assert resolver.resolve({"Ref": "Queue"}) == "https://sqs.us-east-1.amazonaws.com/123456789012/Queue"
