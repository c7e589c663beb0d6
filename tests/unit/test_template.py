"""template.yaml against the deployment the README describes, checked offline.

The template is translated with the SAM translator, as CloudFormation's AWS::Serverless transform does
on deploy, so the checks read what would really be created (the HTTP API's OpenAPI body, the roles
SAM generates) rather than the shorthand; cfn-lint checks the template as a whole.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from localrun.template import Resolver
from tests.helpers import cfn_resources, translated
from tests.template import ROOT, TEMPLATE, resources, template

# The README's route table (function -> method, path), then the routes added since.
ROUTES: dict[str, tuple[str, str]] = {
    "SyncTikTokFunction": ("POST", "/api/v1/profiles/social-sync/tiktok"),
    "SyncTwitchFunction": ("POST", "/api/v1/profiles/social-sync/twitch"),
    "SyncTwitterFunction": ("POST", "/api/v1/profiles/social-sync/twitter"),
    "SyncInstagramFunction": ("POST", "/api/v1/profiles/social-sync/instagram"),
    "SyncYouTubeFunction": ("POST", "/api/v1/profiles/social-sync/youtube"),
    "SocialFetchFunction": ("POST", "/api/v1/social/fetch"),
    "GetProfileFunction": ("GET", "/api/v1/profiles/me"),
    "UpdateProfileFunction": ("PUT", "/api/v1/profiles/me"),
    "SyncAllFunction": ("POST", "/api/v1/profiles/social-sync"),
    "GetStatsHistoryFunction": ("GET", "/api/v1/profiles/me/stats/history"),
    "LinkedAccountCodeFunction": ("POST", "/api/v1/profiles/me/linked-accounts/{platform}/code"),
    "VerifyLinkedAccountFunction": ("POST", "/api/v1/profiles/me/linked-accounts/{platform}/verify"),
}

# What each function may do in DynamoDB: the resource (a table, or "<table>/index/<name>") -> its actions.
# Least privilege, function by function; a function missing here fails the suite.
DynamoDBAccess = dict[str, frozenset[str]]

# A sync reads the profile and writes it with its history in one TransactWriteItems of Puts, which IAM
# checks as PutItem; Powertools idempotency reads, writes, updates and deletes its own records.
# PutItem / DeleteItem also reserve a fetch by handle and give it back.
SYNC_ACCESS: DynamoDBAccess = {
    "ProfilesTable": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"}),
    "IdempotencyTable": frozenset(
        {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    ),
}
# A function that fetches also counts its requests in the fetch-state table: the RapidAPI plan's slots,
# a RapidAPI platform's request window, YouTube's daily quota units.
QUOTA_ACCESS: DynamoDBAccess = {"FetchStateTable": frozenset({"dynamodb:UpdateItem"})}
DYNAMODB_ACCESS: dict[str, DynamoDBAccess] = {
    "SyncTikTokFunction": SYNC_ACCESS | QUOTA_ACCESS,
    "SyncTwitchFunction": SYNC_ACCESS | QUOTA_ACCESS,
    "SyncTwitterFunction": SYNC_ACCESS | QUOTA_ACCESS,
    "SyncInstagramFunction": SYNC_ACCESS | QUOTA_ACCESS,
    "SyncYouTubeFunction": SYNC_ACCESS | QUOTA_ACCESS,
    "SyncAllFunction": SYNC_ACCESS | QUOTA_ACCESS,
    # Cached answers are read and written; the counters and the shared RapidAPI plan updated, all in the
    # fetch-state table. Nothing of the profiles.
    "SocialFetchFunction": {
        "FetchStateTable": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}),
    },
    "GetProfileFunction": {"ProfilesTable": frozenset({"dynamodb:GetItem"})},
    "UpdateProfileFunction": {"ProfilesTable": frozenset({"dynamodb:GetItem", "dynamodb:UpdateItem"})},
    # A code: its hash put, the caller's count of codes updated.
    "LinkedAccountCodeFunction": {"ProfilesTable": frozenset({"dynamodb:PutItem", "dynamodb:UpdateItem"})},
    # A verify: reads, counts the attempt, then one transaction of an Update and Puts.
    "VerifyLinkedAccountFunction": {
        "ProfilesTable": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}),
        **QUOTA_ACCESS,
    },
    # One platform's history is a Query on the table's key; every platform's, on the HistoryByTime index.
    "GetStatsHistoryFunction": {
        "ProfilesTable": frozenset({"dynamodb:Query"}),
        "ProfilesTable/index/HistoryByTime": frozenset({"dynamodb:Query"}),
    },
    # The scheduled sync: the dispatcher queries the SyncDue index and claims each due profile with a
    # conditional UpdateItem; the worker writes through the same path as a sync.
    "ScheduledSyncFunction": {
        "ProfilesTable": frozenset({"dynamodb:UpdateItem"}),
        "ProfilesTable/index/SyncDue": frozenset({"dynamodb:Query"}),
    },
    "SyncWorkerFunction": {
        "ProfilesTable": frozenset({"dynamodb:GetItem", "dynamodb:PutItem"}),
        **QUOTA_ACCESS,
    },
    # Serves files shipped with it.
    "DocsFunction": {},
    # AuthMode shared-secret: reads its signing secret, never the tables.
    "AuthorizerFunction": {},
}
# The docs page, its assets and the OpenAPI document: public, and only where ServeApiDocs is true.
DOCS_ROUTES = {
    "/api/v1/docs": "get",
    "/api/v1/docs/{asset}": "get",
    "/api/v1/openapi.json": "get",
}
RUNTIME = "python3.13"


def http_api_body() -> dict[str, Any]:
    """The OpenAPI document SAM generates for the HttpApi: its routes, integrations and authorizers."""
    body: dict[str, Any] = translated()["Resources"]["HttpApi"]["Properties"]["Body"]
    return body


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def live_alias(function: str) -> str:
    """The logical id of the alias SAM publishes for a function (AutoPublishAlias), which events invoke."""
    alias = f"{function}Alias{template()['Globals']['Function']['AutoPublishAlias']}"
    resource = translated()["Resources"][alias]
    assert resource["Type"] == "AWS::Lambda::Alias"
    assert resource["Properties"]["FunctionName"] == {"Ref": function}
    return alias


def role_of(function: str) -> dict[str, Any]:
    """The IAM role SAM generated for a function (it must not bring a role of its own)."""
    role = translated()["Resources"][function]["Properties"]["Role"]
    assert isinstance(role, dict)
    assert "Fn::GetAtt" in role, f"{function} uses a role SAM did not generate: {role}"
    generated: dict[str, Any] = translated()["Resources"][role["Fn::GetAtt"][0]]
    assert generated["Type"] == "AWS::IAM::Role"
    return generated


@pytest.mark.parametrize(("function", "route"), ROUTES.items())
def test_design_route_is_on_the_http_api_and_invokes_its_function(
    function: str, route: tuple[str, str]
) -> None:
    # Given a route of the README's table
    method, path = route
    # Then the function exists, and the HttpApi sends that method and path to it as a payload 2.0 event
    assert translated()["Resources"][function]["Type"] == "AWS::Lambda::Function"
    operation = http_api_body()["paths"].get(path, {}).get(method.lower())
    assert operation is not None, f"{method} {path} is not a route of the HttpApi"
    integration = operation["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy"
    assert integration["payloadFormatVersion"] == "2.0"
    # (through the function's published alias, which SnapStart needs)
    target = live_alias(function)
    assert f"${{{target}}}" in integration["uri"]["Fn::Sub"]
    # And API Gateway may invoke it on that route
    permissions = [
        p["Properties"]
        for p in cfn_resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": target}
    ]
    # (a {parameter} of the path is a wildcard in the permission's ARN)
    arn_path = re.sub(r"\{[^}]+\}", "*", path)
    assert any(
        f"/{method}{arn_path}" in json.dumps(p["SourceArn"]) and p["Principal"] == "apigateway.amazonaws.com"
        for p in permissions
    ), permissions


# Every combination a deployment can choose: AuthMode, with and without UpstreamApiUrl.
UPSTREAM = "https://api.hyperbuds.example"
DEPLOYMENTS = {
    f"{mode}{' + upstream' if upstream else ''}": {"AuthMode": mode, "UpstreamApiUrl": upstream}
    for mode in ("oidc", "shared-secret")
    for upstream in ("", UPSTREAM)
}
AUTHORIZER_OF = {"oidc": "JwtAuthorizer", "shared-secret": "SharedSecretAuthorizer"}


def deployed_body(parameters: dict[str, str]) -> dict[str, Any]:
    """The HttpApi's OpenAPI document as CloudFormation resolves it with these parameter values."""
    resolved: dict[str, Any] = Resolver(translated(), "us-east-1", parameters).resolve(http_api_body())
    return resolved


def operations(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, methods in body["paths"].items()
        for method, operation in methods.items()
    }


@pytest.mark.parametrize("parameters", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_every_route_is_guarded_by_the_one_authorizer_its_auth_mode_deploys(
    parameters: dict[str, str],
) -> None:
    # Given the API as deployed with this AuthMode
    body = deployed_body(parameters)
    name = AUTHORIZER_OF[parameters["AuthMode"]]
    # Then it has exactly one authorizer, that mode's ...
    assert list(body["components"]["securitySchemes"]) == [name]
    # ... and every route of a function requires it: none is left open, none opts out
    routes = {
        key: op
        for key, op in operations(body).items()
        if op["x-amazon-apigateway-integration"]["type"] == "aws_proxy"
        and key.split(" ", 1)[1] not in DOCS_ROUTES  # public, tested below
    }
    assert set(routes) >= {f"{method} {path}" for method, path in ROUTES.values()}
    for route, operation in routes.items():
        assert operation.get("security") == [{name: []}], f"{route} is not guarded by {name}"


def test_the_docs_are_public_and_deployed_only_when_serve_api_docs_is_true() -> None:
    # Given the parameter, off unless a deployment turns it on, and the condition it drives
    parameter = template()["Parameters"]["ServeApiDocs"]
    assert parameter["Default"] == "false"
    assert parameter["AllowedValues"] == ["true", "false"]
    docs = template()["Resources"]["DocsFunction"]
    condition = docs["Condition"]
    assert template()["Conditions"][condition] == {"Fn::Equals": [{"Ref": "ServeApiDocs"}, "true"]}
    # Then the function, its permissions and its routes exist only under that condition
    for name, resource in translated()["Resources"].items():
        if name.startswith("DocsFunction"):
            assert resource.get("Condition") == condition, name
    for path, method in DOCS_ROUTES.items():
        condition_name, operation, otherwise = http_api_body()["paths"][path][method]["Fn::If"]
        assert (condition_name, otherwise) == (condition, {"Ref": "AWS::NoValue"}), path
        # And each goes to DocsFunction (its SnapStart alias) with no authorizer: a browser needs no token
        assert "${DocsFunctionAliaslive}" in json.dumps(operation["x-amazon-apigateway-integration"]["uri"])
        assert "security" not in operation, path
    # And the function ships its files: functions/docs/Makefile builds it (tests/unit/test_docs.py)
    assert docs["Metadata"]["BuildMethod"] == "makefile"
    assert "build-DocsFunction:" in (ROOT / "functions" / "docs" / "Makefile").read_text()


def test_oidc_mode_cannot_be_deployed_without_an_identity_provider() -> None:
    # Given the Rule CloudFormation checks before creating anything
    rule = template()["Rules"]["OidcNeedsAnIdentityProvider"]
    # Then in oidc mode it requires an issuer and audiences with no empty entry; shared-secret needs neither
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "AuthMode"}, "oidc"]}
    assert [a["Assert"] for a in rule["Assertions"]] == [
        {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}]},
        {"Fn::Not": [{"Fn::Contains": [{"Ref": "JwtAudience"}, ""]}]},
    ]
    assert template()["Parameters"]["AuthMode"]["AllowedValues"] == ["oidc", "shared-secret"]


def test_oidc_mode_deploys_api_gateways_jwt_authorizer_configured_by_parameters() -> None:
    body = deployed_body({"AuthMode": "oidc", "JwtIssuer": "https://issuer.example/", "JwtAudience": "a,b"})

    assert body["components"]["securitySchemes"]["JwtAuthorizer"]["x-amazon-apigateway-authorizer"] == {
        "type": "jwt",
        "identitySource": "$request.header.Authorization",
        "jwtConfiguration": {"issuer": "https://issuer.example/", "audience": ["a", "b"]},
    }
    assert "AuthorizerFunction" not in deployed_resources({"AuthMode": "oidc"})


def test_shared_secret_mode_deploys_the_lambda_authorizer_cached_per_authorization_header() -> None:
    # Given the API as deployed in shared-secret mode
    parameters = {"AuthMode": "shared-secret", "AuthorizerCacheSeconds": "120"}
    scheme = deployed_body(parameters)["components"]["securitySchemes"]["SharedSecretAuthorizer"]
    authorizer = scheme["x-amazon-apigateway-authorizer"]
    # Then API Gateway calls AuthorizerFunction with payload 2.0, reads a simple response, and caches
    # it per Authorization header for the parameter's seconds
    assert authorizer["type"] == "request"
    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["enableSimpleResponses"] is True
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    assert authorizer["authorizerResultTtlInSeconds"] == "120"
    uri = authorizer["authorizerUri"]
    assert uri.startswith("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:")
    assert uri.endswith(":AuthorizerFunction/invocations")
    # And API Gateway may invoke it, as an authorizer of this API only
    resources = deployed_resources(parameters)
    permission = resources["AuthorizerInvokePermission"]["Properties"]
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["FunctionName"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert permission["SourceArn"]["Fn::Sub"].endswith(":${HttpApi}/authorizers/*")


def deployed_resources(parameters: dict[str, str]) -> dict[str, Any]:
    """The translated resources CloudFormation creates with these parameter values (conditions applied)."""
    resolver = Resolver(translated(), "us-east-1", parameters)
    return {
        name: resource
        for name, resource in translated()["Resources"].items()
        if "Condition" not in resource or resolver.condition(resource["Condition"])
    }


@pytest.mark.parametrize(
    ("parameter", "statement"),
    [
        (
            "/social-sync/jwt-secret",
            {"Action": "ssm:GetParameter", "Resource": "parameter/social-sync/jwt-secret"},
        ),
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf",
            {
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf",
            },
        ),
    ],
    ids=["ssm", "secrets manager"],
)
def test_the_authorizer_may_read_its_secret_and_nothing_else(
    parameter: str, statement: dict[str, str]
) -> None:
    # Given the authorizer's role as deployed with the secret in SSM or in Secrets Manager
    parameters = {"AuthMode": "shared-secret", "JwtSecretParameter": parameter}
    resources = deployed_resources(parameters)
    resolver = Resolver(translated(), "us-east-1", parameters)
    role = resolver.resolve(role_of("AuthorizerFunction")["Properties"])
    statements = [
        s for policy in role.get("Policies", []) for s in as_list(policy["PolicyDocument"]["Statement"])
    ]
    # Then its one permission reads that secret, and the secret's name is all its environment holds of it
    [granted] = statements
    assert granted["Action"] == statement["Action"]
    assert granted["Resource"].endswith(statement["Resource"])
    variables = resources["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["JWT_SECRET_PARAMETER"] == {"Ref": "JwtSecretParameter"}
    assert "JWT_SECRET" not in variables
    assert (
        "JWT_SECRET"
        not in translated()["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]
    )


@pytest.mark.parametrize("parameters", DEPLOYMENTS.values(), ids=DEPLOYMENTS.keys())
def test_unmatched_requests_go_to_the_upstream_api_only_when_one_is_given(parameters: dict[str, str]) -> None:
    # Given the API as deployed with or without UpstreamApiUrl
    proxy = operations(deployed_body(parameters)).get("X-AMAZON-APIGATEWAY-ANY-METHOD /{proxy+}")
    if not parameters["UpstreamApiUrl"]:
        # Then without it there is no catch-all: unknown routes are API Gateway's 404
        assert proxy is None
        return
    # Then with it a greedy route on any method proxies to the upstream with the request's full path,
    # and no authorizer (the upstream checks its own requests, login included)
    assert proxy is not None
    assert "security" not in proxy
    assert proxy["x-amazon-apigateway-integration"] == {
        "type": "http_proxy",
        "httpMethod": "ANY",
        "uri": f"{UPSTREAM}/{{proxy}}",
        "payloadFormatVersion": "1.0",
        "connectionType": "INTERNET",
        "timeoutInMillis": 30000,
    }


def test_cors_lets_the_apps_origins_send_credentials_and_never_allows_every_origin() -> None:
    # Given the API's CORS as deployed with two origins
    origins = "https://app.example.com,https://www.example.com"
    cors = deployed_body({"CorsAllowOrigins": origins})["x-amazon-apigateway-cors"]
    parameter = template()["Parameters"]["CorsAllowOrigins"]
    # Then each origin is its own entry, credentials are allowed, Retry-After is readable
    assert cors["allowOrigins"] == ["https://app.example.com", "https://www.example.com"]
    assert cors["allowCredentials"] is True
    assert "retry-after" in [header.lower() for header in cors["exposeHeaders"]]
    assert {"authorization", "content-type"} <= set(cors["allowHeaders"])
    # And the default names the app's local origins; * cannot be given (browsers refuse it with credentials)
    assert parameter["Default"] == "http://localhost:3000,http://127.0.0.1:3000"
    pattern = re.compile(parameter["AllowedPattern"])
    assert pattern.fullmatch(origins)
    assert pattern.fullmatch(parameter["Default"])
    for refused in ("*", "https://app.example.com,*", "https://*.example.com", ""):
        assert not pattern.fullmatch(refused), refused


def test_every_function_runs_python313_on_arm64_with_the_shared_layer() -> None:
    # Given the functions' shared settings
    assert template()["Globals"]["Function"]["Layers"] == [{"Ref": "SharedLayer"}]
    functions = cfn_resources("AWS::Lambda::Function")
    assert set(ROUTES) <= set(functions)
    # Then every function, as deployed, has them
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Runtime"] == RUNTIME, name
        assert properties["Architectures"] == ["arm64"], name
        layers = [translated()["Resources"][layer["Ref"]] for layer in properties["Layers"]]
        assert [layer["Properties"]["LayerName"] for layer in layers] == ["SharedLayer"], name
        assert all(layer["Type"] == "AWS::Lambda::LayerVersion" for layer in layers)


def test_layer_is_built_from_shared_by_its_makefile_for_the_runtime() -> None:
    # Given the layer resource
    layer = template()["Resources"]["SharedLayer"]
    # Then SAM builds shared/ with shared/Makefile (tests/unit/test_layer_build.py runs that recipe)
    # for the functions' runtime and architecture
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"].rstrip("/") == "shared"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert "build-SharedLayer:" in (ROOT / "shared" / "Makefile").read_text()
    assert layer["Metadata"].get("BuildArchitecture", "arm64") == "arm64"
    assert RUNTIME in layer["Properties"]["CompatibleRuntimes"]
    assert "arm64" in layer["Properties"]["CompatibleArchitectures"]
    assert (ROOT / "shared" / "requirements.txt").is_file()
    assert (ROOT / "shared" / "social_sync" / "__init__.py").is_file()


def test_table_is_on_demand_with_point_in_time_recovery_and_history_ttl() -> None:
    # Given the profiles table as deployed
    table = translated()["Resources"]["ProfilesTable"]
    properties = table["Properties"]
    # Then it bills per request, can be restored to any point in time, and expires history by expiresAt
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    # And deleting or replacing the stack keeps the creators' data
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_every_function_has_its_dynamodb_access_written_down() -> None:
    # Given every function in the template
    # Then its permissions are checked below: a new function says what it needs here first
    assert sorted(resources("AWS::Serverless::Function")) == sorted(DYNAMODB_ACCESS)


@pytest.mark.parametrize(("function", "access"), DYNAMODB_ACCESS.items())
def test_function_may_only_do_the_dynamodb_actions_it_needs(function: str, access: DynamoDBAccess) -> None:
    # Given the role SAM generates for the function
    role = role_of(function)["Properties"]
    statements = [
        statement
        for policy in role.get("Policies", [])
        for conditional in as_list(policy["PolicyDocument"]["Statement"])
        # A statement that depends on a condition (where a secret is kept) is checked in both forms.
        for statement in (conditional["Fn::If"][1:] if "Fn::If" in conditional else [conditional])
    ]
    # Then it names its actions (no wildcard) ...
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert all("*" not in action for action in as_list(statement["Action"])), statement
    # ... and its DynamoDB actions are exactly the ones its code performs, each on its own resource
    granted: dict[str, set[str]] = {}
    for statement in statements:
        dynamodb = {a for a in as_list(statement["Action"]) if a.lower().startswith("dynamodb:")}
        for resource in as_list(statement["Resource"]) if dynamodb else []:
            granted.setdefault(dynamodb_resource(resource), set()).update(dynamodb)
    assert granted == access
    # And no managed policy hands out DynamoDB (or everything) besides
    for arn in role.get("ManagedPolicyArns", []):
        assert "dynamodb" not in json.dumps(arn).lower(), arn
        assert "administratoraccess" not in json.dumps(arn).lower(), arn


def dynamodb_resource(resource: Any) -> str:
    """A policy's DynamoDB resource as "<table>" or "<table>/index/<name>"; anything else fails."""
    if isinstance(resource, dict) and list(resource) == ["Fn::GetAtt"] and resource["Fn::GetAtt"][1] == "Arn":
        return str(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and list(resource) == ["Fn::Sub"] and isinstance(resource["Fn::Sub"], str):
        table, _, index = resource["Fn::Sub"].partition(".Arn}/index/")
        if table.startswith("${") and index and "*" not in index:
            return f"{table[2:]}/index/{index}"
    raise AssertionError(f"DynamoDB access on {resource!r}: not one table (or one index) of this stack")


def test_every_function_code_folder_has_its_handler() -> None:
    # Given every function and the handler it names (from Globals unless it overrides it)
    functions = resources("AWS::Serverless::Function")
    assert set(ROUTES) <= set(functions)
    for name in functions:
        code_uri = ROOT / functions[name]["Properties"]["CodeUri"]
        handler = translated()["Resources"][name]["Properties"]["Handler"]
        module, _, attribute = handler.rpartition(".")
        source = code_uri / (module.replace(".", "/") + ".py")
        # Then the folder holds that module, and the module defines the handler at its top level
        assert source.is_file(), f"{name}: {source.relative_to(ROOT)} is missing"
        assert attribute in top_level_names(source), f"{name}: {handler} is not defined in {source.name}"


def top_level_names(source: Path) -> set[str]:
    """Names a module binds at its top level (functions, classes, assignments), read without importing it."""
    names: set[str] = set()
    body = ast.parse(source.read_text()).body
    # A with block at the top level (app.py's container_init) binds its names in the module too.
    nested = [inner for outer in body if isinstance(outer, ast.With) for inner in outer.body]
    for node in body + nested:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_cfn_lint_finds_no_errors() -> None:
    # Given template.yaml
    # When cfn-lint checks it (as `sam validate --lint` does)
    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1"]))
    # Then it finds no errors
    errors = [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches if m.rule.severity == "error"]
    assert errors == []
