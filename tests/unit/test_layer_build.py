"""The layer as `sam build` makes it (shared/Makefile), built here for this machine's Python.

In Lambda the layer is /opt/python, read-only: a module without bytecode is compiled again at every
cold start. So the build must ship bytecode for every module, valid without the source mtimes a zip
does not keep, and carry everything the functions import except what the runtime already has.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from bench.cold_start import build_layer
from tests.template import ROOT, resources

# What the Lambda Python runtime has besides the standard library: boto3 and its dependencies.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "six.py")
UNCHECKED_HASH = 0b01  # PEP 552 flags: hash-based, source not checked


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_layer(tmp_path_factory.mktemp("layer"))


def test_every_module_in_the_layer_has_bytecode_valid_without_its_source(layer: Path) -> None:
    # Given the built layer's Python sources (its packages and ours)
    sources = sorted(layer.rglob("*.py"))
    assert layer / "social_sync" / "api.py" in sources
    assert layer / "pydantic" / "main.py" in sources
    for source in sources:
        # Then each has bytecode for this Python, hash-based and unchecked
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file(), f"no bytecode for {source.relative_to(layer)}"
        header = cached.read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        assert int.from_bytes(header[4:8], "little") == UNCHECKED_HASH, source


def test_the_layer_leaves_what_the_runtime_has_to_it_and_ships_no_build_leftovers(layer: Path) -> None:
    for name in ("boto3", "botocore", "s3transfer", "jmespath"):
        assert not (layer / name).exists(), name
    # Only this Python's bytecode: nothing compiled by another interpreter on the developer's machine
    tags = {path.name.split(".")[1] for path in layer.rglob("*.pyc")}
    assert tags == {sys.implementation.cache_tag}


def test_every_function_imports_from_its_folder_the_layer_and_the_runtime_alone(
    layer: Path, tmp_path: Path
) -> None:
    # Given a runtime of the standard library and boto3 with its dependencies, nothing else installed
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site_packages = Path(boto3.__file__).parent.parent
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site_packages / name)
    folders = sorted(path.parent for path in (ROOT / "functions").glob("*/app.py"))
    assert len(folders) == len(resources("AWS::Serverless::Function"))
    # When each function's app.py is imported, as Lambda does, with no site-packages and no bytecode
    # written, and every module of the layer is imported too (those the routes load on first use)
    probe = """
import importlib, json, pkgutil, runpy, sys
folder, layer, runtime = sys.argv[1:4]
sys.path[:0] = [folder, layer, runtime]
runpy.run_path(folder + "/app.py")
import social_sync
for module in pkgutil.walk_packages(social_sync.__path__, "social_sync."):
    importlib.import_module(module.name)
outside = sorted(
    name for name, module in sys.modules.items()
    if getattr(module, "__file__", None)
    and not module.__file__.startswith((folder, layer, runtime, sys.base_prefix))
)
print(json.dumps(outside))
"""
    environment = {
        "PATH": os.environ["PATH"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "layer-test",
        "AWS_SECRET_ACCESS_KEY": "layer-test",
        "TABLE_NAME": "social-sync-layer-test",
        "FETCH_STATE_TABLE_NAME": "social-sync-layer-test-fetch-state",
        "SYNC_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/layer-test",
        "JWT_SECRET_PARAMETER": "/social-sync/jwt-secret",
    }
    for folder in folders:
        result = subprocess.run(  # noqa: S603 - our own interpreter and probe
            [sys.executable, "-S", "-B", "-c", probe, str(folder), str(layer), str(runtime)],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        # Then it loads, and nothing came from anywhere else
        assert result.returncode == 0, f"{folder.name}: {result.stderr[-2000:]}"
        assert json.loads(result.stdout.splitlines()[-1]) == [], folder.name


def test_the_authorizer_loads_neither_pydantic_nor_powertools(layer: Path, tmp_path: Path) -> None:
    # Given the shared-secret authorizer, which runs on every request API Gateway has not cached,
    # and a runtime of the standard library and boto3 with its dependencies
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    site_packages = Path(boto3.__file__).parent.parent
    for name in RUNTIME_PACKAGES:
        (runtime / name).symlink_to(site_packages / name)
    probe = """
import json, sys
sys.path[:0] = sys.argv[1:4]
import app
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
    # When its app.py is imported as Lambda imports it
    result = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [
            sys.executable,
            "-S",
            "-B",
            "-c",
            probe,
            str(ROOT / "functions" / "authorizer"),
            str(layer),
            str(runtime),
        ],
        env={"PATH": os.environ["PATH"], "JWT_SECRET_PARAMETER": "/social-sync/jwt-secret"},
        capture_output=True,
        text=True,
        check=True,
    )
    # Then only PyJWT, botocore and the layer's own small modules came with it
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert {"jwt", "botocore", "social_sync"} <= loaded
    heavy = {"pydantic", "pydantic_core", "aws_lambda_powertools", "boto3", "httpx", "cryptography"}
    assert not loaded & heavy
