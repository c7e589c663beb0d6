"""The layer's import graph: the data layer knows the models alone, the logic knows no AWS and no vendor,
and only the composition root builds the data layer.

Every import counts, at module level, inside functions and under TYPE_CHECKING alike, relative or
absolute: a layer that may not import another may not even name its types.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "shared" / "social_sync"

# Each module of social_sync, by layer. A module missing here fails the test: say where it belongs.
LAYERS: dict[str, set[str]] = {
    # Shared types: the wire format and the profile, errors, the platform registry, settings.
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
    # The one place that builds the repositories, the vendors' clients and the rest.
    "root": {"container"},
    # The Lambda entry points: they take what they use from the root.
    "edges": {"api", "http", "parsing", "idempotency", "jobs", "authorizer", "docs"},
}
ALLOWED: dict[str, set[str]] = {
    "models": {"models"},
    "protocols": {"models"},
    "data": {"models", "data"},
    "logic": {"models", "protocols", "logic"},
    "outbound": {"models", "protocols", "outbound", "support"},
    "support": {"models"},
    "root": set(LAYERS) - {"edges"},
    "edges": set(LAYERS) - {"data"},
}
# Packages that talk to AWS or to the vendors, or run Lambda: the shared types, the protocols and the
# logic import none of them (the data layer and the edges do; the outbound layer has httpx).
IO_PACKAGES = {"boto3", "botocore", "httpx", "httpcore", "aws_lambda_powertools", "mypy_boto3_dynamodb"}
NO_IO = {"models", "protocols", "logic"}
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
    package = ".".join(["social_sync", *module.split(".")[:-1]])
    if not path.exists():
        path = LAYER / module.replace(".", "/") / "__init__.py"
        package = f"social_sync.{module}"
    return {name for name in imports_in(path.read_text(), package) if name in LAYER_OF or name in IO_PACKAGES}


def imports_in(source: str, package: str = "social_sync") -> set[str]:
    """The social_sync modules a module's source imports, named within the package (`data.keys`), and
    the top-level packages it imports from outside (`botocore`). `package` is the module's own package,
    for relative imports."""
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package, `level - 1` packages up
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                absolute = ".".join([*parent, node.module] if node.module else parent)
            else:
                absolute = node.module or ""
            if absolute == "social_sync":
                # `from social_sync import aws` names a module; `from social_sync.models import X` a member.
                imported |= {a.name for a in node.names}
            elif absolute.startswith("social_sync."):
                imported.add(absolute.removeprefix("social_sync."))
            else:
                imported.add(absolute.split(".")[0])
        elif isinstance(node, ast.Import):
            imported |= {
                a.name.removeprefix("social_sync.")
                if a.name.startswith("social_sync.")
                else a.name.split(".")[0]
                for a in node.names
            }
    return imported


def test_every_module_has_a_layer() -> None:
    assert [module for module in layer_modules() if module not in LAYER_OF] == []


@pytest.mark.parametrize("module", layer_modules())
def test_a_module_imports_only_the_layers_below_it(module: str) -> None:
    layer = LAYER_OF[module]
    imported = imports_of(module)
    wrong = {
        name: LAYER_OF[name] for name in imported if name in LAYER_OF and LAYER_OF[name] not in ALLOWED[layer]
    }
    assert wrong == {}, f"{module} ({layer}) may import only {sorted(ALLOWED[layer])}"
    if layer in NO_IO:
        assert imported & IO_PACKAGES == set(), f"{module} ({layer}) talks to no AWS and no vendor"


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
    assert imports_in(source) == {"typing", "aws", "profiles", "data.keys", "rapidapi"}
    # Relative imports are named from the module's package, and outside packages by their top level.
    relative = (
        "from .keys import user_key\nfrom .. import aws\nfrom ..errors import X\nimport botocore.session\n"
    )
    assert imports_in(relative, "social_sync.data") == {"data.keys", "aws", "errors", "botocore"}
    # And the rules refuse the data layer naming a logic module, an edge building a repository, and
    # the logic importing botocore.
    assert LAYER_OF["profiles"] not in ALLOWED[LAYER_OF["data.profiles"]]
    assert LAYER_OF["data.profiles"] not in ALLOWED[LAYER_OF["api"]]
    assert "logic" in NO_IO
