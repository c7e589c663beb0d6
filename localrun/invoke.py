"""`invoke`: what `sam local invoke` does, without Docker, against the running local stack."""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from localrun.dynamodb import DynamoDBLocalError, dynamodb_client, ensure_tables, is_serving
from localrun.parameters import template_resolver
from localrun.runtime import function_environment, load_handler, new_context
from localrun.settings import LocalSettings
from localrun.shared_secret import with_local_secret
from localrun.template import SamTemplate, TemplateError


def invoke(settings: LocalSettings, function_id: str, event_path: Path) -> int:
    """Run `function_id`'s handler once with the event in `event_path`; print its result as JSON.

    The handler's logs go to stderr, so stdout carries only the result (as with sam).
    Returns the exit status: 0 when the handler returned, 1 when it raised.
    """
    template = SamTemplate(settings.template_path)
    functions = template.functions()
    if function_id not in functions:
        raise TemplateError(
            f"no function {function_id} in template.yaml; there are: {', '.join(sorted(functions))}"
        )
    event = json.loads(event_path.read_text())
    if not is_serving(settings):
        raise DynamoDBLocalError(
            f"DynamoDB Local is not answering on port {settings.dynamodb_port}; "
            "start the local stack with `make run` first"
        )
    resolver = template_resolver(template, settings)
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    ensure_tables(dynamodb_client(settings), template.tables(resolver), log=log)
    function = functions[function_id]
    environment = with_local_secret(
        function_environment(resolver.environment(function), settings), settings.state_dir
    )
    context = new_context(function, settings.region)
    result: Any
    with contextlib.redirect_stdout(sys.stderr):
        handler = load_handler(function, environment)
        try:
            result = handler(event, context)
            status = 0
        except Exception as error:
            traceback.print_exc()
            # The shape Lambda reports an unhandled error in.
            result = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "requestId": context.aws_request_id,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            status = 1
    print(json.dumps(result, indent=2, default=str))
    return status
