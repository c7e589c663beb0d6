"""Handlers are imported like Lambda imports them: own module name, own environment at import time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from localrun.runtime import load_handler
from localrun.template import FunctionSpec

APP = """
import os
GREETING = os.environ["GREETING"]  # read at import time, as the functions read their settings

def lambda_handler(event, context):
    return {"statusCode": 200, "body": GREETING + " from " + __name__}
"""


def make_function(root: Path, logical_id: str) -> FunctionSpec:
    code_dir = root / logical_id
    code_dir.mkdir()
    (code_dir / "app.py").write_text(APP)
    return FunctionSpec(logical_id, code_dir, "app.lambda_handler", 128, 3, (), {})


def test_two_functions_named_app_load_side_by_side_with_their_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "environ", dict(os.environ))  # keep the test's environment to itself

    hello = load_handler(make_function(tmp_path, "HelloFunction"), {"GREETING": "hello"})
    bye = load_handler(make_function(tmp_path, "ByeFunction"), {"GREETING": "bye"})

    assert hello({}, None)["body"] == "hello from localrun_function_HelloFunction"
    assert bye({}, None)["body"] == "bye from localrun_function_ByeFunction"
