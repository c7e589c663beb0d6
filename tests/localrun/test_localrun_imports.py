"""localrun's import graph: no cycle, and each command loads only what it needs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from localrun.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "localrun"
# The emulator's gateway, the OpenAPI generator, and the JWT code (the local issuer and authorizer).
NOT_FOR_COMMANDS = (
    "localrun.server",
    "localrun.openapi",
    "localrun.stack",
    "localrun.issuer",
    "localrun.authorizer",
    "jwt",
)


def localrun_imports() -> dict[str, set[str]]:
    """Module -> the localrun modules it imports, at the top or inside a function."""
    modules = {f"localrun.{path.stem}": path for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module == "localrun":
                imported |= {f"localrun.{alias.name}" for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        graph[name] = imported & set(modules)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as the path that closes it (first module repeated at the end), or None."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for imported in sorted(graph[module]):
            cycle = visit(imported, [*path, module])
            if cycle:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle:
            return cycle
    return None


def loaded_by(module: str) -> set[str]:
    """The modules a fresh interpreter has loaded once it has imported `module`."""
    script = f"import json, sys\nimport {module}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout))


def test_the_cycle_finder_finds_a_cycle() -> None:
    # Given a graph in which a imports b, b imports c and c imports a again
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    # Then the cycle is found, and a graph without it has none
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({**graph, "c": set()}) is None


def test_localrun_has_no_import_cycle() -> None:
    # Given every import between localrun's modules, those inside functions too
    graph = localrun_imports()
    assert graph["localrun.stack"] >= {"localrun.server", "localrun.openapi", "localrun.parameters"}

    # Then no module imports itself through the others
    assert find_cycle(graph) is None


@pytest.mark.parametrize("command", ["localrun.invoke", "localrun.sync_now"])
def test_make_invoke_and_sync_now_load_no_server_openapi_or_jwt_code(command: str) -> None:
    # When a fresh interpreter imports the command's module
    loaded = loaded_by(command)

    # Then it has the template reader and the function runtime, and none of the local API's code
    assert {command, "localrun.parameters", "localrun.runtime"} <= loaded
    assert sorted(loaded & set(NOT_FOR_COMMANDS)) == []


def test_the_local_api_does_not_load_the_openapi_generator() -> None:
    # When a fresh interpreter imports the emulator's gateway
    loaded = loaded_by("localrun.server")

    # Then the generator (and pydantic with it) is not loaded: `make run` hands the document in
    assert "localrun.server" in loaded
    assert sorted(loaded & {"localrun.openapi", "localrun.stack", "pydantic"}) == []
