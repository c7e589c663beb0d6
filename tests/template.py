"""template.yaml as the tests see it: the table definition and the functions, straight from the source."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from cfnlint.decode import decode  # type: ignore[import-untyped]

from localrun.runtime import import_file
from localrun.template import FunctionSpec, SamTemplate

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


@cache
def template() -> dict[str, Any]:
    """The parsed template (intrinsic functions kept as {"Ref": ...} dicts)."""
    parsed, matches = decode(str(TEMPLATE))
    assert not matches, matches
    assert parsed is not None
    return dict(parsed)


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template()["Resources"].items() if r["Type"] == kind}


def table_definition(logical_id: str = "ProfilesTable") -> dict[str, Any]:
    """CreateTable arguments for a table exactly as the template declares it."""
    props = template()["Resources"][logical_id]["Properties"]
    keys = (
        "AttributeDefinitions",
        "KeySchema",
        "LocalSecondaryIndexes",
        "GlobalSecondaryIndexes",
        "BillingMode",
    )
    return {key: props[key] for key in keys if key in props}


@cache
def functions() -> dict[str, FunctionSpec]:
    """Every function of the template, as localrun reads them (code folder, handler file, layers)."""
    return SamTemplate(TEMPLATE).functions()


def load_function(logical_id: str) -> ModuleType:
    """Import a function's handler module under a name of its own, with localrun's loader.

    The test's own environment stays as it is (localrun's load_handler would apply the template's).
    """
    return load_module(functions()[logical_id].handler_file, f"function_{logical_id}")


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file at `path` as a module called `name`."""
    return import_file(path, name)
