"""The layer's import graph: the data layer knows the models alone, the logic knows no AWS and no vendor.

Every import counts, at module level, inside functions and under TYPE_CHECKING alike: a layer that
may not import another may not even name its types.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "shared" / "social_sync"

# Each module of social_sync, by layer. A module missing here fails the test: say where it belongs.
LAYERS: dict[str, set[str]] = {
    # Shared types: the wire format and stored models, errors, the platform registry, settings.
    "models": {"models", "errors", "platforms", "settings", "deadline"},
    "protocols": {"protocols"},
    # Every DynamoDB and SQS call, nothing else.
    "data": {f"data.{path.stem}" for path in (LAYER / "data").glob("*.py")} | {"data"},
    # What the service decides: takes models, returns models, is handed the repositories.
    "logic": {
        "aggregates",
        "ownership",
        "profiles",
        "growth",
        "schedule",
        "verification",
        "social_fetch",
        "quota",
    },
    # The vendors' APIs and EventBridge: outbound calls, their payloads and budgets.
    "outbound": {"providers", "outbound", "rapidapi", "youtube", "notifications"},
    # What every layer above the data may use: metrics and logs, the AWS clients, cold-start care.
    "support": {"telemetry", "aws", "startup"},
    # The Lambda entry points and what builds them.
    "edges": {"api", "http", "parsing", "idempotency", "jobs", "container", "authorizer", "docs"},
}
ALLOWED: dict[str, set[str]] = {
    "models": {"models"},
    "protocols": {"models"},
    "data": {"models", "data"},
    "logic": {"models", "protocols", "logic"},
    "outbound": {"models", "protocols", "outbound", "support"},
    "support": {"models"},
    "edges": set(LAYERS),
}
LAYER_OF = {module: layer for layer, modules in LAYERS.items() for module in modules}


def layer_modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(LAYER).with_suffix("").parts).removesuffix(".__init__")
        for path in LAYER.rglob("*.py")
        if path.name != "__init__.py" or path.parent != LAYER
    )


def imports_of(module: str) -> set[str]:
    """The social_sync modules `module` imports, wherever in it the import is."""
    path = LAYER / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = LAYER / module.replace(".", "/") / "__init__.py"
    return imports_in(path.read_text())


def imports_in(source: str) -> set[str]:
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("social_sync"):
            base = node.module.removeprefix("social_sync").lstrip(".")
            # `from social_sync import aws` names a module; `from social_sync.models import X` a member.
            imported |= {f"{base}.{a.name}".lstrip(".") for a in node.names} if not base else {base}
        elif isinstance(node, ast.Import):
            imported |= {
                a.name.removeprefix("social_sync.") for a in node.names if a.name.startswith("social_sync.")
            }
    return imported


def test_every_module_has_a_layer() -> None:
    assert [module for module in layer_modules() if module not in LAYER_OF] == []


@pytest.mark.parametrize("module", layer_modules())
def test_a_module_imports_only_the_layers_below_it(module: str) -> None:
    layer = LAYER_OF[module]
    wrong = {
        name: LAYER_OF.get(name, "?")
        for name in imports_of(module)
        if LAYER_OF.get(name) not in ALLOWED[layer]
    }
    assert wrong == {}, f"{module} ({layer}) may import only {sorted(ALLOWED[layer])}"


def test_the_check_sees_imports_made_anywhere_in_a_module() -> None:
    # Imports for type checking only, inside a function, and of a module by name all count.
    source = (
        "from typing import TYPE_CHECKING\n"
        "from social_sync import aws\n"
        "if TYPE_CHECKING:\n"
        "    from social_sync.profiles import ProfileChange\n"
        "def later():\n"
        "    from social_sync.data.keys import user_key\n"
        "    import social_sync.rapidapi\n"
    )
    assert imports_in(source) == {"aws", "profiles", "data.keys", "rapidapi"}
    # And the data layer naming a logic module is one the rules refuse.
    assert LAYER_OF["profiles"] not in ALLOWED[LAYER_OF["data.profiles"]]
