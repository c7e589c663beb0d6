"""Outbound HTTP under one deadline and with a cap on the decoded body: every vendor fetch goes through here.

httpx's timeouts bound each socket operation, not a request: an upstream sending one byte every
few seconds never trips a 5 s read timeout. Here every socket operation (connect, TLS, write, each
read of headers and body) gets at most what is left of the caller's Deadline, so the whole request
ends by it. The body is decoded here, from the raw stream, with zlib's output bounded on every call,
so a compressed answer is refused once it decodes past the cap rather than inflating in memory.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from social_sync.deadline import Deadline

# The request on this thread's deadline (each fetch runs on one thread; contextvars are per thread).
_current: ContextVar[Deadline | None] = ContextVar("outbound_deadline", default=None)
# What the decoder below understands; answers in any other encoding are refused.
ACCEPT_ENCODING = "gzip, deflate"
# Most output of one decompression step: the body grows by small steps, never by a burst.
_DECODE_STEP = 64 * 1024


class DeadlineExceeded(Exception):
    """The deadline passed before the answer was complete."""


class BodyTooLarge(Exception):
    """The decoded body went past the cap."""


class UnreadableBody(Exception):
    """The body is in an encoding we did not ask for, or its compression is corrupt."""


@dataclass(frozen=True)
class Answer:
    """An upstream's status and headers, and its decoded body for a 2xx (empty otherwise)."""

    status: int
    headers: httpx.Headers
    body: bytes


def http_client(
    *, connect_timeout: float, read_timeout: float, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """An httpx client whose requests `get` can hold to a deadline (no redirects, JSON accepted)."""
    return httpx.Client(
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        transport=transport or DeadlineTransport(),
        follow_redirects=False,
        headers={
            "accept": "application/json",
            "user-agent": "social-sync",
            "accept-encoding": ACCEPT_ENCODING,
        },
    )


def get(
    client: httpx.Client,
    url: str,
    *,
    params: dict[str, str],
    headers: dict[str, str],
    deadline: Deadline,
    max_bytes: int,
) -> Answer:
    """GET `url`, all of it done by `deadline`, the decoded body at most `max_bytes`.

    Raises DeadlineExceeded or httpx.TimeoutException (out of time), BodyTooLarge, UnreadableBody,
    or httpx.TransportError (the upstream could not be reached or broke off).
    """
    left = deadline.remaining()
    if left <= 0:
        raise DeadlineExceeded
    configured = client.timeout
    timeout = httpx.Timeout(min(configured.read or left, left), connect=min(configured.connect or left, left))
    token = _current.set(deadline)
    try:
        with client.stream("GET", url, params=params, headers=headers, timeout=timeout) as response:
            if not 200 <= response.status_code < 300:
                return Answer(response.status_code, response.headers, b"")
            encoding = response.headers.get("content-encoding", "")
            body = read_capped(response.iter_raw(), encoding, max_bytes, deadline)
            return Answer(response.status_code, response.headers, body)
    finally:
        _current.reset(token)


def read_capped(chunks: Iterable[bytes], encoding: str, max_bytes: int, deadline: Deadline) -> bytes:
    """The decoded body of raw `chunks`, refused once it passes `max_bytes` or the deadline passes."""
    decompressor = _decompressor(encoding)
    body = bytearray()
    for chunk in chunks:
        if decompressor is None:
            body += chunk
        else:
            data = chunk
            while data:
                # Never more output per call than one step, nor than the room left (+1 to see it overflow).
                try:
                    body += decompressor.decompress(data, min(_DECODE_STEP, max_bytes + 1 - len(body)))
                except zlib.error as error:
                    raise UnreadableBody("corrupt compressed body") from error
                if len(body) > max_bytes:
                    raise BodyTooLarge
                data = decompressor.unconsumed_tail
        if len(body) > max_bytes:
            raise BodyTooLarge
        if deadline.remaining() <= 0:
            raise DeadlineExceeded
    return bytes(body)


def _decompressor(encoding: str) -> Any:
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return None
    if name in ("gzip", "x-gzip"):
        return zlib.decompressobj(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return zlib.decompressobj()
    raise UnreadableBody(f"unexpected content-encoding {name[:20]!r}")


# --- The transport: every socket operation bounded by what is left of the current deadline.


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport on a connection pool whose sockets keep to the current deadline."""

    def __init__(self) -> None:
        super().__init__()
        # httpx.HTTPTransport takes no network backend, so its pool is made again with ours.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=_DeadlineBackend(),
        )
