"""What the stack gives the people who run it, read from the translated template: every function's logs,
alarms, traces and metrics settings, the API's access logs, the alarms and their topic, the dashboard,
tags, backups, concurrency, SnapStart, and the two deploy environments of samconfig.toml.

Every check that is per function iterates over every AWS::Serverless::Function of template.yaml, so a
new function without its log group, alarms or dashboard entry fails here.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from typing import Any

import pytest

from social_sync import telemetry
from tests.helpers import cfn_resources, translated
from tests.template import ROOT, resources, template

FUNCTIONS = sorted(resources("AWS::Serverless::Function"))
ENVIRONMENTS = ("dev", "prod")
# The tags every taggable resource carries (template Globals and each resource's Tags).
TAGS = {"Project": "social-sync", "Environment": {"Ref": "EnvironmentName"}}
# CloudFormation types in this stack that take Tags.
TAGGABLE = {
    "AWS::Lambda::Function",
    "AWS::IAM::Role",
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::CloudWatch::Alarm",
    "AWS::Events::EventBus",
    "AWS::ApiGatewayV2::Stage",
}
TOPIC = {"Fn::If": ["CreateAlarmTopic", {"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}]}


def cfn(name: str) -> dict[str, Any]:
    resource: dict[str, Any] = translated()["Resources"][name]
    return resource


def service_name() -> str:
    name: str = template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    return name


def test_there_are_functions_to_check() -> None:
    assert len(FUNCTIONS) >= 10


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_logs_json_into_its_own_log_group_with_a_retention(function: str) -> None:
    # Given the function as deployed
    properties = cfn(function)["Properties"]
    # Then it logs JSON into <Function>LogGroup ...
    assert properties["LoggingConfig"] == {
        "LogFormat": "JSON",
        "LogGroup": {"Ref": f"{function}LogGroup"},
        # at the level LogLevel gives Powertools, so Lambda drops none of the lines it writes
        "ApplicationLogLevel": {"Fn::FindInMap": ["ApplicationLogLevel", {"Ref": "LogLevel"}, "Lambda"]},
    }
    levels = template()["Mappings"]["ApplicationLogLevel"]
    assert set(levels) == set(template()["Parameters"]["LogLevel"]["AllowedValues"])
    # ... a log group of this stack that keeps its logs for LogRetentionDays
    group = cfn(f"{function}LogGroup")
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert function in json.dumps(group["Properties"]["LogGroupName"])


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_alarms_on_its_errors_and_throttles(function: str, metric: str) -> None:
    # Given <Function>ErrorsAlarm / <Function>ThrottlesAlarm
    alarm = cfn(f"{function}{metric}Alarm")
    properties = alarm["Properties"]
    # Then it watches that Lambda metric of that function, alarms on the first one, and notifies the topic
    assert alarm["Type"] == "AWS::CloudWatch::Alarm"
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", metric)
    assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
    assert (properties["Statistic"], properties["Threshold"]) == ("Sum", 0)
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["AlarmActions"] == [TOPIC]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_is_traced_and_emits_metrics_in_the_namespace_parameter(function: str) -> None:
    properties = cfn(function)["Properties"]
    variables = properties["Environment"]["Variables"]
    # Lambda's active tracing always; the X-Ray SDK's subsegments as XRaySdkTracing says
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert variables["POWERTOOLS_TRACE_DISABLED"] == {"Fn::If": ["XRaySdk", "false", "true"]}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == {"Ref": "MetricsNamespace"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == service_name()
    # And SAM's X-Ray policy lets it send the traces
    role = cfn(properties["Role"]["Fn::GetAtt"][0])["Properties"]
    assert any("AWSXrayWriteOnlyAccess" in json.dumps(arn) for arn in role["ManagedPolicyArns"])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_uses_snapstart_on_its_published_alias(function: str) -> None:
    properties = cfn(function)["Properties"]
    assert properties["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
    assert template()["Parameters"]["SnapStart"]["AllowedValues"] == ["PublishedVersions", "None"]
    alias = cfn(f"{function}Aliaslive")
    assert alias["Type"] == "AWS::Lambda::Alias"
    assert alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][1] == "Version"


def test_the_dashboard_names_every_function_and_every_figure_the_alarms_watch() -> None:
    # Given the dashboard's body, with its references still to be substituted
    body = cfn("Dashboard")["Properties"]["DashboardBody"]["Fn::Sub"]
    # Then it is JSON, names every function, and shows the service's own metrics
    widgets = json.loads(body)["widgets"]
    assert widgets
    # (a function deployed only under a condition, the docs or the authorizer, has its log group and
    # alarms but no line: the dashboard cannot name a resource that may not exist)
    for function in FUNCTIONS:
        if "Condition" not in template()["Resources"][function]:
            assert f"${{{function}}}" in body, f"{function} is not on the dashboard"
    for metric in (
        "Syncs",
        "Rejections",
        "VendorLatency",
        "VendorFailures",
        "VendorQuotaRemaining",
        "ScheduledProfilesDue",
        "ScheduledProfilesDispatched",
        "ScheduledProfilesRefreshed",
        "ScheduledProfilesFailed",
        "OldestDueProfileAgeSeconds",
        "ApproximateNumberOfMessagesVisible",
        "5xx",
        "Latency",
    ):
        assert f'"{metric}"' in body or f'\\"{metric}\\"' in body, metric
    # And its alarm widget lists every alarm that is not per function
    alarm_widget = next(w for w in widgets if w["type"] == "alarm")
    for alarm in SERVICE_ALARMS:
        assert f"${{{alarm}.Arn}}" in alarm_widget["properties"]["alarms"]


SERVICE_ALARMS = (
    "ApiErrorRateAlarm",
    "ApiLatencyAlarm",
    "SyncDeadLetterAlarm",
    "ScheduleLagAlarm",
    "VendorFailureRateAlarm",
    "VendorQuotaAlarm",
)


def metric_stats(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An alarm's metrics by id (a metric math alarm), or its one metric under the id "metric"."""
    properties = alarm["Properties"]
    if "Metrics" not in properties:
        keys = ("Namespace", "MetricName", "Dimensions")
        return {"metric": {key: properties[key] for key in keys}}
    return {m["Id"]: m["MetricStat"]["Metric"] for m in properties["Metrics"] if "MetricStat" in m}


def test_every_alarm_of_the_stack_notifies_the_alarm_topic() -> None:
    alarms = cfn_resources("AWS::CloudWatch::Alarm")
    assert set(SERVICE_ALARMS) <= set(alarms)
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [TOPIC], name
        assert alarm["Properties"]["OKActions"] == [TOPIC], name
    # The topic is the stack's own unless AlarmTopicArn names one; an address can be subscribed
    assert cfn("AlarmTopic")["Condition"] == "CreateAlarmTopic"
    assert template()["Conditions"]["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    subscription = cfn("AlarmEmailSubscription")
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}


def test_the_api_alarms_on_its_5xx_rate_and_its_p99_latency() -> None:
    # The 5xx rate: 5xx over requests of the HttpApi, from enough requests to judge
    rate = cfn("ApiErrorRateAlarm")["Properties"]
    api = [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    metrics = metric_stats(cfn("ApiErrorRateAlarm"))
    assert metrics["errors"] == {"Namespace": "AWS/ApiGateway", "MetricName": "5xx", "Dimensions": api}
    assert metrics["requests"] == {"Namespace": "AWS/ApiGateway", "MetricName": "Count", "Dimensions": api}
    [expression] = [m["Expression"] for m in rate["Metrics"] if m.get("ReturnData")]
    assert "100 * errors / requests" in expression
    assert rate["Threshold"] == {"Ref": "ApiErrorRateAlarmPercent"}
    # The p99 latency
    latency = cfn("ApiLatencyAlarm")["Properties"]
    assert (latency["MetricName"], latency["ExtendedStatistic"]) == ("Latency", "p99")
    assert latency["Dimensions"] == api
    assert latency["Threshold"] == {"Ref": "ApiLatencyAlarmMilliseconds"}


@pytest.mark.parametrize(
    ("alarm", "metrics"),
    [
        ("ScheduleLagAlarm", {"OldestDueProfileAgeSeconds"}),
        ("VendorFailureRateAlarm", {"VendorFailures", "VendorRequests"}),
        ("VendorQuotaAlarm", {"VendorQuotaRemaining"}),
    ],
)
def test_the_service_alarms_read_the_metrics_the_service_emits(alarm: str, metrics: set[str]) -> None:
    # Given an alarm on the service's own metrics
    read = metric_stats(cfn(alarm)).values()
    # Then it reads them where the functions write them: the namespace parameter, the service roll-up
    assert {m["MetricName"] for m in read} == metrics
    for metric in read:
        assert metric["Namespace"] == {"Ref": "MetricsNamespace"}
        assert metric["Dimensions"] == [{"Name": "service", "Value": service_name()}]
    # And social_sync/telemetry.py emits exactly those names
    source = (ROOT / "shared" / "social_sync" / "telemetry.py").read_text()
    for name in metrics:
        assert f'"{name}"' in source, name
    assert service_name() == telemetry.SERVICE


def test_the_dead_letter_queue_alarms_when_anything_is_in_it() -> None:
    [metric] = metric_stats(cfn("SyncDeadLetterAlarm")).values()
    assert metric["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert metric["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["SyncDeadLetterQueue", "QueueName"]}}
    ]


def test_the_api_writes_a_json_access_log_without_headers_into_a_log_group_with_retention() -> None:
    # Given the HttpApi's stage as deployed
    stage = next(iter(cfn_resources("AWS::ApiGatewayV2::Stage").values()))["Properties"]
    settings = stage["AccessLogSettings"]
    # Then each request is one JSON line with what an operator needs to follow it
    assert settings["DestinationArn"] == {"Fn::GetAtt": ["HttpApiAccessLogGroup", "Arn"]}
    line = json.loads(settings["Format"])
    for field in ("requestId", "routeKey", "status", "latency", "integrationError"):
        assert field in line, field
    # And nothing of the request's headers, query or body, so never the bearer token
    assert not re.search(r"header|authorization|querystring|body", settings["Format"], re.IGNORECASE)
    group = cfn("HttpApiAccessLogGroup")["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def tags_of(resource: dict[str, Any]) -> dict[str, Any]:
    tags = resource["Properties"].get("Tags", {})
    return {tag["Key"]: tag["Value"] for tag in tags} if isinstance(tags, list) else dict(tags)


def test_every_resource_that_takes_tags_has_the_project_and_environment_tags() -> None:
    taggable = {n: r for n, r in translated()["Resources"].items() if r["Type"] in TAGGABLE}
    assert {r["Type"] for r in taggable.values()} == TAGGABLE
    for name, resource in taggable.items():
        tags = tags_of(resource)
        assert {key: tags.get(key) for key in TAGS} == TAGS, name
    # The API itself carries them in its OpenAPI body
    body = cfn("HttpApi")["Properties"]["Body"]
    api_tags = {tag["name"]: tag["x-amazon-apigateway-tag-value"] for tag in body["tags"]}
    assert {key: api_tags.get(key) for key in TAGS} == TAGS


def test_every_table_can_be_restored_to_a_point_in_time() -> None:
    tables = cfn_resources("AWS::DynamoDB::Table")
    assert {"ProfilesTable", "IdempotencyTable"} <= set(tables)
    for name, table in tables.items():
        recovery = table["Properties"]["PointInTimeRecoverySpecification"]
        assert recovery == {"PointInTimeRecoveryEnabled": True}, name


def test_reserved_concurrency_is_a_parameter_and_fits_what_each_function_does() -> None:
    def reserved(function: str) -> Any:
        return cfn(function)["Properties"]["ReservedConcurrentExecutions"]

    def when_set(value: Any) -> dict[str, Any]:
        return {"Fn::If": ["HasReservedConcurrency", value, {"Ref": "AWS::NoValue"}]}

    assert template()["Conditions"]["HasReservedConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ReservedConcurrency"}, 0]}]
    }
    # The dispatcher runs one at a time; the worker as many as the queue may run at once
    assert reserved("ScheduledSyncFunction") == when_set(1)
    assert reserved("SyncWorkerFunction") == when_set({"Ref": "SyncWorkerConcurrency"})
    for function in set(FUNCTIONS) - {"ScheduledSyncFunction", "SyncWorkerFunction"}:
        assert reserved(function) == when_set({"Ref": "ReservedConcurrency"}), function


def samconfig() -> dict[str, Any]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text())


def overrides(environment: str) -> dict[str, str]:
    listed = samconfig()[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in listed)


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_deploys_its_own_stack_with_valid_parameters(environment: str) -> None:
    # Given samconfig.toml's section for the environment
    section = samconfig()[environment]
    deploy = section["deploy"]["parameters"]
    parameters = template()["Parameters"]
    # Then it deploys a stack of its own, tagged, with the capability SAM's roles need
    assert section["global"]["parameters"]["stack_name"] == f"social-sync-{environment}"
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert shlex.split(deploy["tags"]) == ["Project=social-sync", f"Environment={environment}"]
    # And each parameter it sets is one of the template's, with a value the template accepts
    values = overrides(environment)
    assert values["EnvironmentName"] == environment
    for name, value in values.items():
        assert name in parameters, name
        allowed = parameters[name].get("AllowedValues")
        if allowed is not None:
            assert value in [str(choice) for choice in allowed], name
        if "MinValue" in parameters[name]:
            assert float(value) >= float(parameters[name]["MinValue"]), name
    # And no placeholder is left to edit: every parameter without a default is... none but the identity
    # provider's, which `make deploy PARAMS=...` adds (README, "Deploying")
    required = {name for name, p in parameters.items() if "Default" not in p}
    assert required - set(values) <= {"JwtIssuer", "JwtAudience"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_each_environment_translates(environment: str) -> None:
    # Given the environment's parameters (and an identity provider)
    values = overrides(environment) | {"JwtIssuer": "https://issuer.example/", "JwtAudience": "app"}
    # When the SAM transform runs with them
    result = translated(tuple(sorted(values.items())))
    # Then every function, its alias and its log group are there
    for function in FUNCTIONS:
        assert result["Resources"][function]["Type"] == "AWS::Lambda::Function"
        assert result["Resources"][f"{function}Aliaslive"]["Type"] == "AWS::Lambda::Alias"
        assert result["Resources"][f"{function}LogGroup"]["Type"] == "AWS::Logs::LogGroup"


def test_make_deploy_adds_params_to_the_environments_overrides() -> None:
    # Given make deploy for dev with one more parameter (make -n prints the commands, runs nothing)
    extra = "JwtIssuer=https://issuer.example/ 'JwtAudience=app one,app two'"
    printed = subprocess.run(  # noqa: S603 - make, our own Makefile
        ["make", "-n", "--no-print-directory", "deploy", "ENV=dev", f"PARAMS={extra}"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    deploy = next(line for line in printed.replace("\\\n", " ").splitlines() if "bin/sam deploy " in line)
    words = shlex.split(deploy)
    # Then sam deploy gets the environment's section and its overrides followed by the extra ones
    assert words[words.index("--config-env") + 1] == "dev"
    given = words[words.index("--parameter-overrides") + 1 :]
    assert given == [f"{k}={v}" for k, v in overrides("dev").items()] + [
        "JwtIssuer=https://issuer.example/",
        "JwtAudience=app one,app two",
    ]
    # And the region is not forced on it (the AWS profile's or AWS_REGION's)
    assert "AWS_DEFAULT_REGION" not in deploy
