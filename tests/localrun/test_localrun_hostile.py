"""The local server against hostile local clients: escaped logs, no forged AWS calls, no stuck threads."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localrun import aws_services
from localrun.events import HttpRequest
from localrun.issuer import LocalIssuer
from localrun.server import LocalApi, LocalApiServer, serve

PUT_EVENTS = json.dumps(
    {"Entries": [{"Source": "social-sync", "DetailType": "ProfileStatsSynced", "Detail": "{}"}]}
).encode()


@pytest.fixture
def key_id(tmp_path: Path) -> str:
    return aws_services.local_access_key_id(tmp_path)


@pytest.fixture
def server(tmp_path: Path, key_id: str) -> Iterator[tuple[LocalApiServer, list[str]]]:
    lines: list[str] = []
    issuer = LocalIssuer.load_or_create(tmp_path / "issuer", "http://127.0.0.1:1/local-issuer", "aud")
    api = LocalApi([], {}, {}, {}, issuer, None, "us-east-1", 0, log=lines.append, aws_access_key_id=key_id)
    running = serve(api, 0)
    running.RequestHandlerClass.timeout = 1  # type: ignore[attr-defined]
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    try:
        yield running, lines
    finally:
        running.shutdown()
        running.server_close()
        thread.join(timeout=5)


def raw(server: LocalApiServer, data: bytes, timeout: float = 5) -> bytes:
    """Send `data` as it is and read the answer until the server closes or `timeout` passes."""
    host, port = server.server_address[:2]
    with socket.create_connection((str(host), port), timeout=timeout) as connection:
        connection.sendall(data)
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received


def aws_call(authorization: str | None) -> HttpRequest:
    headers = [("x-amz-target", "AWSEvents.PutEvents")]
    if authorization is not None:
        headers.append(("authorization", authorization))
    return HttpRequest("POST", "/__aws", "", headers, PUT_EVENTS, "127.0.0.1", "HTTP/1.1")


def signature(key_id: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={key_id}/20261129/us-east-1/events/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00"
    )


@pytest.mark.parametrize(
    "authorization", [None, "", signature("local"), signature("LOCALFORGED"), "Credential=/x/"]
)
def test_a_forged_aws_call_is_refused_and_logs_no_event(key_id: str, authorization: str | None) -> None:
    lines: list[str] = []
    status, _, body = aws_services.answer(aws_call(authorization), lines.append, key_id)
    assert status == 403
    assert json.loads(body)["__type"] == "UnrecognizedClientException"
    assert lines == []


def test_the_functions_own_signed_calls_are_answered(key_id: str) -> None:
    lines: list[str] = []
    status, _, body = aws_services.answer(aws_call(signature(key_id)), lines.append, key_id)
    assert status == 200
    assert json.loads(body)["FailedEntryCount"] == 0
    assert any("ProfileStatsSynced" in line for line in lines)


def test_the_key_id_is_made_once_and_readable_by_its_owner_only(tmp_path: Path, key_id: str) -> None:
    assert aws_services.local_access_key_id(tmp_path) == key_id
    assert (tmp_path / aws_services.ACCESS_KEY_FILE).stat().st_mode & 0o077 == 0
    assert aws_services.local_access_key_id(tmp_path / "other") != key_id


def test_control_characters_in_a_path_are_escaped_in_the_log(
    server: tuple[LocalApiServer, list[str]],
) -> None:
    running, lines = server
    answer = raw(running, b"GET /a\x1b[2J\x07b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 404")
    [line] = lines
    assert "\x1b" not in line
    assert "\x07" not in line
    assert "/a\\x1b[2J\\x07b" in line


@pytest.mark.parametrize("length", [b"-1", b"junk", b"1e3", b"+5", b"5, 6"])
def test_a_bad_content_length_is_a_400_at_once(
    server: tuple[LocalApiServer, list[str]], length: bytes
) -> None:
    running, _ = server
    answer = raw(running, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"connection: close" in answer.lower()


def test_a_client_that_never_sends_its_body_frees_the_thread(
    server: tuple[LocalApiServer, list[str]],
) -> None:
    # Given a request announcing 100 bytes and sending 3 (the server's read timeout is 1 s here)
    running, _ = server
    answer = raw(running, b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc", timeout=5)

    # Then the server answers 400 and closes, rather than waiting forever
    assert answer.startswith(b"HTTP/1.1 400")
