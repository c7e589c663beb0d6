"""template.yaml against DESIGN.md's deployment, checked offline.

The template is translated with the SAM translator, as CloudFormation's AWS::Serverless transform does
on deploy, so the checks read what would really be created (the HTTP API's OpenAPI body, the roles
SAM generates) rather than the shorthand; cfn-lint checks the template as a whole.
"""

from __future__ import annotations

import ast
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.api import ManualArgs, lint_file
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

from tests.template import ROOT, TEMPLATE, resources, template

# DESIGN.md's route table (function -> method, path), then the routes added since.
ROUTES: dict[str, tuple[str, str]] = {
    "SyncTikTokFunction": ("POST", "/api/v1/profiles/social-sync/tiktok"),
    "SyncTwitchFunction": ("POST", "/api/v1/profiles/social-sync/twitch"),
    "SyncTwitterFunction": ("POST", "/api/v1/profiles/social-sync/twitter"),
    "SyncInstagramFunction": ("POST", "/api/v1/profiles/social-sync/instagram"),
    "GetProfileFunction": ("GET", "/api/v1/profiles/me"),
    "UpdateProfileFunction": ("PUT", "/api/v1/profiles/me"),
    "SyncAllFunction": ("POST", "/api/v1/profiles/social-sync"),
    "GetStatsHistoryFunction": ("GET", "/api/v1/profiles/me/stats/history"),
}

# What each function may do in DynamoDB: the resource (a table, or "<table>/index/<name>") -> its actions.
# Least privilege, function by function; a function missing here fails the suite.
DynamoDBAccess = dict[str, frozenset[str]]

# A sync reads the profile and writes it with its history in one TransactWriteItems of Puts, which IAM
# checks as PutItem; Powertools idempotency reads, writes, updates and deletes its own records.
# UpdateItem: the shared RapidAPI quota; PutItem / DeleteItem also reserve a fetch by handle and give it back.
SYNC_ACCESS: DynamoDBAccess = {
    "ProfilesTable": frozenset(
        {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    ),
    "IdempotencyTable": frozenset(
        {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    ),
}
DYNAMODB_ACCESS: dict[str, DynamoDBAccess] = {
    "SyncTikTokFunction": SYNC_ACCESS,
    "SyncTwitchFunction": SYNC_ACCESS,
    "SyncTwitterFunction": SYNC_ACCESS,
    "SyncInstagramFunction": SYNC_ACCESS,
    "SyncAllFunction": SYNC_ACCESS,
    "GetProfileFunction": {"ProfilesTable": frozenset({"dynamodb:GetItem"})},
    "UpdateProfileFunction": {"ProfilesTable": frozenset({"dynamodb:UpdateItem"})},
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
        "ProfilesTable": frozenset({"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"})
    },
}
RUNTIME = "python3.13"


@cache
def translated() -> dict[str, Any]:
    """The CloudFormation the SAM transform makes of template.yaml (in us-east-1, with no AWS call)."""
    # A JSON round trip turns cfn-lint's node types into plain dicts and strings the translator copies freely.
    source = json.loads(json.dumps(copy.deepcopy(template())))
    for resource in source["Resources"].values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            # Like `sam validate`: the transform takes only S3 locations, which `sam package` puts there.
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://sam-artifacts/{properties[key]}"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name="us-east-1"))
    result: dict[str, Any] = translator.translate(source, parameter_values={}, get_managed_policy_map=dict)
    return result


def cfn_resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in translated()["Resources"].items() if r["Type"] == kind}


def http_api_body() -> dict[str, Any]:
    """The OpenAPI document SAM generates for the HttpApi: its routes, integrations and authorizers."""
    body: dict[str, Any] = translated()["Resources"]["HttpApi"]["Properties"]["Body"]
    return body


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


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
    # Given a route of DESIGN.md's table
    method, path = route
    # Then the function exists, and the HttpApi sends that method and path to it as a payload 2.0 event
    assert translated()["Resources"][function]["Type"] == "AWS::Lambda::Function"
    operation = http_api_body()["paths"].get(path, {}).get(method.lower())
    assert operation is not None, f"{method} {path} is not a route of the HttpApi"
    integration = operation["x-amazon-apigateway-integration"]
    assert integration["type"] == "aws_proxy"
    assert integration["payloadFormatVersion"] == "2.0"
    assert f"${{{function}.Arn}}" in integration["uri"]["Fn::Sub"]
    # And API Gateway may invoke it on that route
    permissions = [
        p["Properties"]
        for p in cfn_resources("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": function}
    ]
    assert any(
        f"/{method}{path}" in json.dumps(p["SourceArn"]) and p["Principal"] == "apigateway.amazonaws.com"
        for p in permissions
    ), permissions


def test_every_route_is_guarded_by_the_jwt_authorizer() -> None:
    # Given the HttpApi's authorizer as template.yaml declares it
    auth = template()["Resources"]["HttpApi"]["Properties"]["Auth"]
    name = auth["DefaultAuthorizer"]
    parameters = template()["Parameters"]
    # Then it is API Gateway's native JWT authorizer on the Authorization header, configured by Parameters
    scheme = http_api_body()["components"]["securitySchemes"][name]
    assert scheme["x-amazon-apigateway-authorizer"] == {
        "type": "jwt",
        "identitySource": "$request.header.Authorization",
        "jwtConfiguration": {"issuer": {"Ref": "JwtIssuer"}, "audience": {"Ref": "JwtAudience"}},
    }
    assert parameters["JwtIssuer"]["Type"] == "String"
    assert parameters["JwtAudience"]["Type"] == "CommaDelimitedList"
    # And every route of the API requires it: none opts out
    operations = {
        f"{method.upper()} {path}": operation
        for path, methods in http_api_body()["paths"].items()
        for method, operation in methods.items()
    }
    assert operations
    for route, operation in operations.items():
        assert operation.get("security") == [{name: []}], f"{route} is not guarded by {name}"


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
        for statement in as_list(policy["PolicyDocument"]["Statement"])
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
