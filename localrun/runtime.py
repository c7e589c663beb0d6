"""Load a function's handler the way the Lambda Python runtime would, and give it a context.

Every function folder holds a module named `app.py`, so each is imported under its own
module name. The function's environment is put in os.environ before its import,
because the functions read their settings at import time, and the layer's folder is
put on sys.path, as Lambda does with /opt/python.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from localrun import aws_services
from localrun.settings import LOCAL_ACCOUNT_ID, LocalSettings
from localrun.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]

# Lambda credentials and endpoint settings a developer's shell might carry; locally they
# would point boto3 at a real account or at a profile this machine may not have.
AWS_VARIABLES_TO_DROP = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass
class LambdaContext:
    """The attributes and method of the context object the Lambda Python runtime passes."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout (from the template) runs out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def new_context(function: FunctionSpec, region: str) -> LambdaContext:
    """A fresh context for one invocation of `function`."""
    return LambdaContext(
        function_name=function.logical_id,
        memory_limit_in_mb=function.memory_mb,
        invoked_function_arn=f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{function.logical_id}",
        timeout_seconds=function.timeout_seconds,
    )


def function_environment(template_variables: Mapping[str, str], settings: LocalSettings) -> dict[str, str]:
    """The environment one function sees locally.

    The template's variables, each overridden by the same variable set in the environment
    of the command (that is how a developer tries another setting), plus what points the
    AWS SDK at DynamoDB Local, and every other AWS service at the local API (so no call
    leaves the machine), with dummy credentials in the local region.
    """
    environment = {name: os.environ.get(name, value) for name, value in template_variables.items()}
    environment.update(
        {
            "AWS_ENDPOINT_URL_DYNAMODB": settings.dynamodb_endpoint,
            "AWS_ENDPOINT_URL": aws_services.endpoint_url(settings.api_url),
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            # The local API's AWS endpoint answers only calls signed with this key id (aws_services).
            "AWS_ACCESS_KEY_ID": aws_services.local_access_key_id(settings.state_dir),
            "AWS_SECRET_ACCESS_KEY": "local",
            # Set by `sam local` too; Powertools then leaves X-Ray tracing off.
            "AWS_SAM_LOCAL": "true",
        }
    )
    return environment


def apply_environment(environment: Mapping[str, str]) -> None:
    """Put `environment` into this process's os.environ, dropping shell AWS credentials."""
    for name in AWS_VARIABLES_TO_DROP:
        os.environ.pop(name, None)
    os.environ.update(environment)


def add_layers_to_path(function: FunctionSpec) -> None:
    """Put `function`'s layer folders first on sys.path, as Lambda puts its layers' /opt/python."""
    for layer_dir in function.layer_dirs:
        if str(layer_dir) not in sys.path:
            sys.path.insert(0, str(layer_dir))


def import_file(path: Path, module_name: str) -> ModuleType:
    """Import the Python file at `path` as a module named `module_name` (every function's is app.py)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def load_handler(function: FunctionSpec, environment: Mapping[str, str]) -> Handler:
    """Import `function`'s handler module under a unique name with its environment applied.

    The environment stays applied after the import: a handler may also read it per request.
    """
    add_layers_to_path(function)
    apply_environment(environment)
    module = import_file(function.handler_file, f"localrun_function_{function.logical_id}")
    handler = getattr(module, function.handler_name, None)
    if not callable(handler):
        raise ImportError(
            f"{function.logical_id}: {function.handler_file} has no callable {function.handler_name}"
        )
    return handler  # type: ignore[no-any-return]
