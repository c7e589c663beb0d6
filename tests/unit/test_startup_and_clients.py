"""What every function's init runs under: the paused garbage collector and the shared AWS clients."""

from __future__ import annotations

import ast
import gc
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from social_sync import aws
from social_sync.startup import container_init
from tests.template import ROOT, resources, template


@pytest.fixture
def collector_state() -> Iterator[None]:
    """Whatever a test does to the collector, the next test finds it enabled."""
    yield
    gc.enable()


def test_collection_is_paused_during_init_and_on_again_after(collector_state: None) -> None:
    gc.enable()
    with container_init():
        assert not gc.isenabled()
    assert gc.isenabled()
    # What init made is frozen, by this init or the first one of this process, and only once
    frozen = gc.get_freeze_count()
    assert frozen > 0
    with container_init():
        pass
    assert gc.get_freeze_count() == frozen


def test_collection_is_on_again_when_init_fails(collector_state: None) -> None:
    gc.enable()
    with pytest.raises(RuntimeError), container_init():
        raise RuntimeError("a setting is missing")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off(collector_state: None) -> None:
    gc.disable()
    with container_init():
        pass
    assert not gc.isenabled()


def test_every_function_builds_its_handler_inside_container_init() -> None:
    for name, function in resources("AWS::Serverless::Function").items():
        if name == "DocsFunction":
            continue  # the standard library alone (functions/docs/app.py says why; tested below)
        source = ROOT / function["Properties"]["CodeUri"] / "app.py"
        body = ast.parse(source.read_text()).body
        blocks = [node for node in body if isinstance(node, ast.With)]
        assert len(blocks) == 1, name
        (item,) = blocks[0].items
        assert ast.unparse(item.context_expr) == "container_init()", name
        # The imports of the layer and the handler are made inside the block, nothing outside it
        inside = {
            ast.unparse(target)
            for node in blocks[0].body
            if isinstance(node, ast.Assign)
            for target in node.targets
        }
        assert "lambda_handler" in inside, name
        outside = [node for node in body if node is not blocks[0]]
        assert all(isinstance(node, ast.Expr | ast.ImportFrom) for node in outside), name
    assert template()["Globals"]["Function"]["Handler"] == "app.lambda_handler"


def test_the_docs_function_imports_the_standard_library_alone() -> None:
    # Given the docs function's imports, and everything its one module of the layer imports
    modules = [ROOT / "functions" / "docs" / "app.py", ROOT / "shared" / "social_sync" / "docs.py"]
    imported = set()
    for source in modules:
        for node in ast.parse(source.read_text()).body:
            if isinstance(node, ast.ImportFrom):
                imported.add(str(node.module).split(".")[0])
            elif isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
    assert "social_sync" in imported
    # Then nothing but the standard library and that module: no garbage-heavy init to run it under
    assert imported - {"social_sync"} <= sys.stdlib_module_names, imported


def test_threads_asking_for_a_client_at_once_all_get_the_one_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given no client made yet in this container
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(aws, "_session", None)
    monkeypatch.setattr(aws, "_clients", {})
    start = threading.Barrier(8)
    got: list[Any] = []

    def ask() -> None:
        start.wait()
        got.append(aws.events())

    # When eight threads ask for it at the same moment
    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one client was made and every thread has it, configured to fail fast
    assert len(got) == 8
    assert len({id(client) for client in got}) == 1
    # botocore's Config keeps its options as attributes its type information does not declare.
    assert got[0].meta.config.connect_timeout == aws.CLIENT_CONFIG.connect_timeout  # type: ignore[attr-defined]
    assert aws.dynamodb() is aws.dynamodb()
