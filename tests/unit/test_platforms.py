"""The platform registry against everything that must agree with it.

Adding a platform is one registry entry, one function binding (template.yaml + functions/<name>/app.py)
and fixtures: each test here names the place that is still missing when one of those is forgotten.
"""

from __future__ import annotations

import ast
import re
from typing import Any, get_args

import pytest

from social_sync import providers
from social_sync.models import Platform
from social_sync.platforms import PLATFORM_SPECS, PLATFORMS, PlatformSpec, rapidapi_platforms
from social_sync.settings import Settings, rapidapi_endpoint_variable
from tests.fake_rapidapi import fixture_path
from tests.template import ROOT, resources, template

SPECS = list(PLATFORM_SPECS.values())
SYNC_ROUTE = re.compile(r"^/api/v1/profiles/social-sync/(?P<platform>[^/]+)$")


def http_routes() -> dict[str, str]:
    """Path of every POST HttpApi route -> the logical id of its function."""
    routes = {}
    for logical_id, resource in resources("AWS::Serverless::Function").items():
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "HttpApi" and str(event["Properties"]["Method"]).upper() == "POST":
                routes[str(event["Properties"]["Path"])] = logical_id
    return routes


def test_the_platform_type_is_the_registry() -> None:
    assert get_args(Platform) == tuple(PLATFORM_SPECS) == PLATFORMS
    assert all(name == spec.name for name, spec in PLATFORM_SPECS.items())


@pytest.mark.parametrize("spec", SPECS, ids=PLATFORM_SPECS)
def test_every_platform_has_a_payload_parser(spec: PlatformSpec) -> None:
    assert callable(getattr(providers, spec.parser_name, None)), f"add providers.{spec.parser_name}"


@pytest.mark.parametrize("spec", SPECS, ids=PLATFORM_SPECS)
def test_every_platform_has_its_sync_function_bound_to_its_route(spec: PlatformSpec) -> None:
    # Given the registry entry, Then template.yaml routes the platform's path to its function
    assert http_routes().get(spec.route) == spec.function_id, f"add {spec.function_id} to template.yaml"
    # And the function's app.py binds the layer's one sync route to this platform, and nothing else
    code_uri = template()["Resources"][spec.function_id]["Properties"]["CodeUri"]
    source = (ROOT / str(code_uri) / "app.py").read_text()
    calls = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "sync_api"
    ]
    assert [ast.literal_eval(call.args[0]) for call in calls] == [spec.name]


def test_every_platform_sync_function_belongs_to_a_platform() -> None:
    # Given every /profiles/social-sync/<x> route of the template, Then <x> is a registered platform
    bound = {match["platform"] for path in http_routes() if (match := SYNC_ROUTE.match(path))}
    assert bound == set(PLATFORM_SPECS)


@pytest.mark.parametrize("name", rapidapi_platforms())
def test_every_rapidapi_endpoint_is_a_template_parameter_with_the_registry_s_default(name: Platform) -> None:
    spec = PLATFORM_SPECS[name]
    parameter = f"RapidApi{spec.brand}Endpoint"
    assert template()["Parameters"][parameter]["Default"] == spec.endpoint
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[rapidapi_endpoint_variable(name)] == {"Ref": parameter}
    assert Settings(table_name="unit").rapidapi_endpoints[name] == spec.endpoint


def test_an_endpoint_variable_swaps_one_platform_s_vendor(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given another vendor's endpoint for Twitch
    monkeypatch.setenv("TABLE_NAME", "unit")
    monkeypatch.setenv("RAPIDAPI_TWITCH_ENDPOINT", "twitch-other.p.rapidapi.com/v2/channel")

    # When the settings are read
    endpoints = Settings.from_env().rapidapi_endpoints

    # Then Twitch uses it, and the other platforms keep theirs
    assert endpoints["twitch"] == "twitch-other.p.rapidapi.com/v2/channel"
    assert endpoints["tiktok"] == PLATFORM_SPECS["tiktok"].endpoint


def test_youtube_s_daily_quota_default_is_the_registry_s() -> None:
    limit = PLATFORM_SPECS["youtube"].rate_limit
    assert (limit.amount, limit.seconds, limit.unit) == (10_000, 86_400, "quota units")
    assert template()["Parameters"]["YouTubeDailyQuotaUnits"]["Default"] == limit.amount
    assert Settings(table_name="unit").youtube_daily_quota_units == limit.amount


@pytest.mark.parametrize("spec", SPECS, ids=PLATFORM_SPECS)
def test_every_platform_has_a_sample_event_and_recorded_payloads(spec: PlatformSpec) -> None:
    assert (ROOT / "events" / f"sync_{spec.name}.json").is_file()
    assert fixture_path(spec.name, "not-found").is_file()
    recorded = [
        path for path in fixture_path(spec.name, "x").parent.glob("*.json") if path.stem != "not-found"
    ]
    assert recorded, f"record at least one {spec.display_name} account"


def readme_platform_rows() -> dict[str, list[str]]:
    """The README's platform table: brand -> its cells."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Five platforms", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] in {spec.brand for spec in SPECS}:
            rows[cells[0]] = cells
    return rows


@pytest.mark.parametrize("spec", SPECS, ids=PLATFORM_SPECS)
def test_the_readme_table_says_what_the_registry_says(spec: PlatformSpec) -> None:
    row = readme_platform_rows().get(spec.brand)
    assert row is not None, f"add {spec.brand} to the README's table"
    text = " ".join(row)
    assert spec.host in text
    assert spec.path in text
    assert f"{spec.query_parameter}=" in text
    assert spec.rate_limit.describe() in text


def test_the_readme_table_has_no_platform_the_registry_lacks() -> None:
    assert set(readme_platform_rows()) == {spec.brand for spec in SPECS}


def test_messages_name_platforms_the_way_the_app_expects() -> None:
    names: dict[str, Any] = {spec.name: spec.display_name for spec in SPECS}
    assert names == {
        "tiktok": "Tiktok",
        "twitch": "Twitch",
        "twitter": "Twitter",
        "instagram": "Instagram",
        "youtube": "Youtube",
    }
