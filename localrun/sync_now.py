"""`python -m localrun.sync_now` (`make sync-now`): the scheduled sync, once, against the local stack.

The dispatcher runs as ScheduledSyncFunction runs on its EventBridge schedule, with the template's
environment, except that the profiles it claims are collected here instead of going to SQS (no
SQS locally). SyncWorkerFunction, loaded as `make invoke` loads it, then gets them as the SQS
events Lambda's poller would deliver, in batches of the template's BatchSize. A record the worker
reports failed is listed (in AWS, SQS would deliver it again).

RapidAPI is the real one when RAPIDAPI_KEY is set, or whatever serves RAPIDAPI_BASE_URL (say, the
tests' fake replaying recorded payloads). The summary goes to stdout as JSON, logs to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localrun.dynamodb import DynamoDBLocalError, dynamodb_client, ensure_tables, is_serving
from localrun.parameters import template_resolver
from localrun.runtime import (
    add_layers_to_path,
    apply_environment,
    function_environment,
    load_handler,
    new_context,
)
from localrun.settings import LOCAL_ACCOUNT_ID, LocalSettings, load_settings
from localrun.template import Resolver, SamTemplate, TemplateError

DISPATCHER = "ScheduledSyncFunction"
WORKER = "SyncWorkerFunction"
# Sent with every request when only RAPIDAPI_BASE_URL is set: a fake takes any key.
FAKE_KEY = "local-fake-key"


class CollectedQueue:
    """Stands in for the SyncQueue: keeps what the dispatcher sends, in order."""

    def __init__(self) -> None:
        self.user_ids: list[str] = []

    def send(self, user_ids: list[str]) -> None:
        """Take one SendMessageBatch worth of user ids."""
        self.user_ids += user_ids


def scheduled_event(region: str, now: float) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends its target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{LOCAL_ACCOUNT_ID}:rule/{DISPATCHER}Schedule"],
        "detail": {},
    }


def sqs_event(bodies: list[str], queue_arn: str, region: str, now: float) -> dict[str, Any]:
    """An SQS event as Lambda's poller builds it, one record per message body."""
    sent = str(int(now * 1000))
    records = []
    for body in bodies:
        message_id = str(uuid.uuid4())
        records.append(
            {
                "messageId": message_id,
                "receiptHandle": f"local-{message_id}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": f"local:{DISPATCHER}",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's own checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def queue_batch_size(template: SamTemplate, resolver: Resolver) -> int:
    """BatchSize of the worker's SQS event in the template (10, SQS's default, when unset)."""
    events = template.resources[WORKER].get("Properties", {}).get("Events", {})
    for event in events.values():
        if event.get("Type") == "SQS":
            return int(resolver.resolve(event.get("Properties", {}).get("BatchSize", 10)))
    raise TemplateError(f"{WORKER} has no SQS event in template.yaml")


def rapidapi_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """What the functions need to reach RapidAPI (and the YouTube Data API) locally; raises if nothing
    says where RapidAPI is. A fake YouTube Data API (YOUTUBE_BASE_URL) takes any key too."""
    youtube = (
        {"YOUTUBE_API_KEY": FAKE_KEY}
        if environ.get("YOUTUBE_BASE_URL") and not environ.get("YOUTUBE_API_KEY")
        else {}
    )
    if environ.get("RAPIDAPI_KEY"):
        return youtube
    if environ.get("RAPIDAPI_BASE_URL"):
        return {"RAPIDAPI_KEY": FAKE_KEY, **youtube}
    raise TemplateError(
        "set RAPIDAPI_KEY (your RapidAPI key) or RAPIDAPI_BASE_URL (a fake RapidAPI) for `make sync-now`"
    )


def sync_now(settings: LocalSettings) -> dict[str, Any]:
    """Run the dispatcher, then the worker on everything it dispatched; returns what happened."""
    template = SamTemplate(settings.template_path)
    functions = template.functions()
    for name in (DISPATCHER, WORKER):
        if name not in functions:
            raise TemplateError(f"no function {name} in template.yaml")
    if not is_serving(settings):
        raise DynamoDBLocalError(
            f"DynamoDB Local is not answering on port {settings.dynamodb_port}; start `make run` first"
        )
    resolver = template_resolver(template, settings)
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    ensure_tables(dynamodb_client(settings), template.tables(resolver), log=log)
    extra = rapidapi_environment(os.environ)
    os.environ.update(extra)

    started = time.time()
    # The dispatcher: the function's own code and environment, with the queue swapped for a list.
    dispatcher_spec = functions[DISPATCHER]
    apply_environment(function_environment(resolver.environment(dispatcher_spec), settings) | extra)
    add_layers_to_path(dispatcher_spec)
    from social_sync.container import Container
    from social_sync.jobs import dispatcher
    from social_sync.models import RefreshMessage
    from social_sync.settings import Settings

    queue = CollectedQueue()
    # Our context has every attribute of Lambda's; Powertools types it with its own class.
    context: Any = new_context(dispatcher_spec, settings.region)
    dispatched = dispatcher(Container(Settings.from_env(), refresh_queue=queue))(
        scheduled_event(settings.region, started), context
    )

    # The worker: loaded and fed exactly as Lambda's SQS poller would.
    worker_spec = functions[WORKER]
    worker = load_handler(
        worker_spec, function_environment(resolver.environment(worker_spec), settings) | extra
    )
    batch_size = queue_batch_size(template, resolver)
    queue_arn = f"arn:aws:sqs:{settings.region}:{LOCAL_ACCOUNT_ID}:SyncQueue"
    failed: list[str] = []
    batches = 0
    for start in range(0, len(queue.user_ids), batch_size):
        users = queue.user_ids[start : start + batch_size]
        bodies = [RefreshMessage(user_id=user).model_dump_json(by_alias=True) for user in users]
        event = sqs_event(bodies, queue_arn, settings.region, time.time())
        result = worker(event, new_context(worker_spec, settings.region))
        by_id = {record["messageId"]: user for record, user in zip(event["Records"], users, strict=True)}
        failed += [by_id[failure["itemIdentifier"]] for failure in result.get("batchItemFailures", [])]
        batches += 1
    return {
        "dispatched": len(queue.user_ids),
        "skipped": dispatched.get("skipped", 0),
        "batches": batches,
        "refreshed": len(queue.user_ids) - len(failed),
        "failed": failed,
        "seconds": round(time.time() - started, 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: run once, print the summary as JSON; 1 when the local stack is not there."""
    parser = argparse.ArgumentParser(prog="python -m localrun.sync_now", description=__doc__)
    parser.add_argument(
        "--dynamodb-port", type=int, help="DynamoDB Local port (default: $DYNAMODB_PORT or 8000)"
    )
    parser.add_argument("--state-dir", type=Path, help="the local stack's folder (default: .local)")
    args = parser.parse_args(argv)
    settings = load_settings(dynamodb_port=args.dynamodb_port, state_dir=args.state_dir)
    try:
        # Handlers log to stdout as in Lambda; here stdout carries only the summary.
        with contextlib.redirect_stdout(sys.stderr):
            summary = sync_now(settings)
    except (TemplateError, DynamoDBLocalError, OSError) as error:
        print(f"localrun: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
