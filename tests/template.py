"""template.yaml as the tests see it: the table definition and the functions, straight from the source."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from cfnlint.decode import decode  # type: ignore[import-untyped]

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


def load_function(logical_id: str) -> ModuleType:
    """Import a function's app.py under a name of its own (every function's module is called app)."""
    code_uri = template()["Resources"][logical_id]["Properties"]["CodeUri"]
    return load_module(ROOT / code_uri / "app.py", f"function_{logical_id}")


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file at `path` as a module called `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
