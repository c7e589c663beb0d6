"""A fake upstream that replays the recorded payloads: RapidAPI's (tests/fixtures/rapidapi/) and the
YouTube Data API's (tests/fixtures/youtube/).

It answers each RapidAPI platform's endpoint by the x-rapidapi-host header, the path and the handle
in the query string, and the YouTube Data API's channels, playlistItems and videos lists under
/youtube/v3 (YOUTUBE_BASE_URL points there). It records every request it gets (when, for which
platform and handle, with which key), and can be told to fail a handle: an error status, a
Retry-After, garbage, a timeout. Unit tests use it as an httpx transport; the local stack's tests
serve it on 127.0.0.1.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from social_sync.platforms import platform_spec, rapidapi_platforms
from social_sync.quota import SharedQuota

FIXTURES_ROOT = Path(__file__).resolve().parent / "fixtures"
FIXTURES = FIXTURES_ROOT / "rapidapi"
YOUTUBE_FIXTURES = FIXTURES_ROOT / "youtube"
# platform -> (host, path, query parameter): the registry's default endpoints.
ENDPOINTS = {
    name: (platform_spec(name).host, platform_spec(name).path, platform_spec(name).query_parameter)
    for name in rapidapi_platforms()
}
_BY_HOST = {host: platform for platform, (host, _, _) in ENDPOINTS.items()}
# platform -> where its recorded payloads keep the account's bio (what the providers read it from).
BIO_PATHS: dict[str, tuple[str | int, ...]] = {
    "tiktok": ("userInfo", "user", "signature"),
    "twitter": ("result", "data", "user", "result", "legacy", "description"),
    "twitch": ("data", "user", "description"),
    "instagram": ("biography",),
    "youtube": ("channels", "items", 0, "snippet", "description"),
}

# The YouTube Data API's root path (the registry's endpoint is its channels list).
YOUTUBE_API = platform_spec("youtube").path.rpartition("/")[0]


def fixture_path(platform: str, name: str) -> Path:
    """Where the recorded answer `name` (a handle, or "not-found") of `platform` is kept."""
    folder = FIXTURES / platform if platform in rapidapi_platforms() else YOUTUBE_FIXTURES
    return folder / f"{name}.json"


def fixture(platform: str, name: str) -> bytes:
    """The recorded answer `name` (a handle, or "not-found") of `platform`."""
    return fixture_path(platform, name).read_bytes()


def fixture_json(platform: str, name: str) -> object:
    return json.loads(fixture(platform, name))


def with_bio(platform: str, name: str, bio: str) -> bytes:
    """The recorded answer `name` of `platform`, with the account's bio replaced by `bio`."""
    payload = fixture_json(platform, name)
    *parents, last = BIO_PATHS[platform]
    target: Any = payload
    for key in parents:
        target = target[key]
    target[last] = bio
    return json.dumps(payload).encode()


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, headers and body, or no answer at all (`timeout`)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    timeout: bool = False
    # Seconds the served fake waits before answering `timeout` (the client's read timeout must be shorter).
    hang_seconds: float = 3.0
    # Served fake only: send the body one byte every this many seconds (a slow drip).
    drip_seconds: float | None = None


@dataclass(frozen=True)
class Request:
    """What the fake received: monotonic time, platform, handle and the key it was sent."""

    at: float
    platform: str | None
    handle: str | None
    key: str | None
    host: str | None
    path: str


class FakeRapidApi:
    """Replays fixtures by platform and handle; scripted replies take precedence, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[tuple[str, str], deque[Reply]] = {}
        self._always: dict[tuple[str, str], Reply] = {}
        self._aliases: dict[tuple[str, str], str] = {}
        self.requests: list[Request] = []
        # Waits a client asked for (backoff, rate cap) when it is handed `sleeps.append` to sleep with.
        self.sleeps: list[float] = []
        # Set when a served fake shuts down, so no handler thread outlives it.
        self.stopped = threading.Event()

    def script(self, platform: str, handle: str, *replies: Reply) -> None:
        """Answer the next requests for `handle` with `replies`, then with its fixture again."""
        with self._lock:
            self._scripts.setdefault((platform, handle), deque()).extend(replies)

    def always(self, platform: str, handle: str, reply: Reply) -> None:
        """Answer every request for `handle` with `reply`."""
        with self._lock:
            self._always[(platform, handle)] = reply

    def alias(self, platform: str, handle: str, recorded: str) -> None:
        """Answer `handle` with the fixture recorded for another handle (unique handles per test)."""
        with self._lock:
            self._aliases[(platform, handle)] = recorded

    def set_bio(self, platform: str, handle: str, bio: str, recorded: str) -> None:
        """Answer every request for `handle` with the fixture `recorded`, its bio replaced by `bio`."""
        self.always(
            platform,
            handle,
            Reply(200, with_bio(platform, recorded, bio), {"content-type": "application/json"}),
        )

    def heal(self, platform: str, handle: str) -> None:
        """Forget the scripted replies for `handle`: its fixture answers again."""
        with self._lock:
            self._scripts.pop((platform, handle), None)
            self._always.pop((platform, handle), None)

    def reply(self, host: str | None, path: str, query: dict[str, str], key: str | None) -> Reply:
        """The answer to one request, recorded."""
        if path.startswith(f"{YOUTUBE_API}/"):
            return self._youtube_reply(path.removeprefix(f"{YOUTUBE_API}/"), query, key)
        platform = _BY_HOST.get(host or "")
        handle = query.get(ENDPOINTS[platform][2]) if platform else None
        with self._lock:
            self.requests.append(Request(time.monotonic(), platform, handle, key, host, path))
            if platform is None or path != ENDPOINTS[platform][1]:
                return _json_reply(404, {"message": f"Endpoint '{path}' does not exist"})
            if not key:
                return _json_reply(
                    401, {"message": "Invalid API key. Go to https://docs.rapidapi.com/docs/keys"}
                )
            if handle is None:
                return _json_reply(400, {"message": "missing query parameter"})
            scripted = self._scripts.get((platform, handle))
            if scripted:
                return scripted.popleft()
            if (platform, handle) in self._always:
                return self._always[(platform, handle)]
            name = self._aliases.get((platform, handle), handle)
        if name == "not-found" or not fixture_path(platform, name).is_file():
            name = "not-found"
        return Reply(200, fixture(platform, name), {"content-type": "application/json"})

    def _youtube_reply(self, resource: str, query: dict[str, str], key: str | None) -> Reply:
        # The handle a request is about: the channel asked for, or the one whose playlist or videos it lists.
        handle = _youtube_handle(resource, query)
        with self._lock:
            self.requests.append(Request(time.monotonic(), "youtube", handle, key, None, resource))
            if not key:
                return _google_error(403, "forbidden", "The request is missing a valid API key.")
            if handle is not None:
                scripted = self._scripts.get(("youtube", handle))
                if scripted:
                    return scripted.popleft()
                if ("youtube", handle) in self._always:
                    return self._always[("youtube", handle)]
                handle = self._aliases.get(("youtube", handle), handle)
        recorded = _youtube_fixture(handle)
        if resource == "channels":
            return _json_reply(200, recorded["channels"])
        if resource == "playlistItems" and "playlistItems" in recorded:
            return _json_reply(200, recorded["playlistItems"])
        if resource == "playlistItems":
            return _google_error(404, "playlistNotFound", "The playlist cannot be found.")
        if resource == "videos" and "videos" in recorded:
            wanted = set(query.get("id", "").split(","))
            answer = dict(recorded["videos"])
            answer["items"] = [item for item in answer["items"] if item["id"] in wanted]
            return _json_reply(200, answer)
        return _google_error(404, "notFound", f"No {resource} list here.")

    def count(self, platform: str | None = None, handle: str | None = None) -> int:
        """How many requests came in (for one platform and handle, if given)."""
        with self._lock:
            return sum(
                1
                for request in self.requests
                if (platform is None or request.platform == platform)
                and (handle is None or request.handle == handle)
            )

    def busiest_second(self) -> int:
        """The most requests that started inside any one-second window [t, t + 1)."""
        with self._lock:
            times = sorted(request.at for request in self.requests)
        most, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= 1.0:
                start += 1
            most = max(most, end - start + 1)
        return most

    @property
    def transport(self) -> httpx.MockTransport:
        """This fake as an httpx transport (no sockets)."""

        def handle(request: httpx.Request) -> httpx.Response:
            query = {name: values[-1] for name, values in parse_qs(request.url.query.decode()).items()}
            reply = self.reply(
                request.headers.get("x-rapidapi-host"), request.url.path, query, _key(request.headers)
            )
            if reply.timeout:
                raise httpx.ReadTimeout("the fake did not answer", request=request)
            # A stream, not content: the client reads the raw bytes and decodes them itself.
            return httpx.Response(reply.status, headers=reply.headers, stream=httpx.ByteStream(reply.body))

        return httpx.MockTransport(handle)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """This fake as an HTTP server on 127.0.0.1; yields its base URL (RAPIDAPI_BASE_URL)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {name: values[-1] for name, values in parse_qs(url.query).items()}
                reply = fake.reply(self.headers.get("x-rapidapi-host"), url.path, query, _key(self.headers))
                if reply.timeout:
                    time.sleep(reply.hang_seconds)  # a server that does not answer in time
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                if reply.drip_seconds is None:
                    self.wfile.write(reply.body)
                    return
                for index in range(len(reply.body)):
                    self.wfile.write(reply.body[index : index + 1])
                    self.wfile.flush()
                    if fake.stopped.wait(reply.drip_seconds):  # the drip ends with the server
                        return

            def log_message(self, format: str, *args: object) -> None:  # quiet: no access log on stderr
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="fake-rapidapi", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            self.stopped.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


@functools.cache
def gzip_bomb(decoded_bytes: int = 1 << 30) -> bytes:
    """`decoded_bytes` of zeros, gzip-compressed (1 GiB of zeros is about 1 MB), made once per process."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [compressor.compress(block) for _ in range(decoded_bytes // len(block))]
    return b"".join([*parts, compressor.flush()])


def _json_reply(status: int, body: object) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"content-type": "application/json"})


def _google_error(status: int, reason: str, message: str) -> Reply:
    """An error in the shape Google's APIs answer with."""
    return _json_reply(
        status,
        {"error": {"code": status, "message": message, "errors": [{"reason": reason, "message": message}]}},
    )


def _youtube_recordings() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in YOUTUBE_FIXTURES.glob("*.json")}


def _youtube_handle(resource: str, query: dict[str, str]) -> str | None:
    """The recorded (or asked-for) handle a YouTube request is about."""
    recordings = _youtube_recordings()
    for name, recorded in recordings.items():
        channels = recorded["channels"].get("items", [])
        channel = channels[0] if channels else {}
        uploads = channel.get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads")
        if resource == "channels" and query.get("id") and channel.get("id") == query["id"]:
            return name
        if resource == "playlistItems" and uploads and uploads == query.get("playlistId"):
            return name
        videos = {item["id"] for item in recorded.get("videos", {}).get("items", [])}
        if resource == "videos" and videos and set(query.get("id", "").split(",")) <= videos:
            return name
    if resource == "channels" and "forHandle" in query:
        return query["forHandle"].removeprefix("@").lower()
    return query.get("id")


def _youtube_fixture(handle: str | None) -> dict[str, Any]:
    path = YOUTUBE_FIXTURES / f"{handle}.json"
    recorded: dict[str, Any] = json.loads(
        (path if handle and path.is_file() else YOUTUBE_FIXTURES / "not-found.json").read_text()
    )
    return recorded


def _key(headers: object) -> str | None:
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    key = getter("x-rapidapi-key") or getter("x-goog-api-key")
    return str(key) if key else None


class MemorySlots:
    """The shared quota's slot sequences in memory (social_sync.quota.SlotStore), for unit tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.next_slot: dict[str, float] = {}

    def take_slot(self, name: str, now: float, interval: float, latest: float) -> float | None:
        with self._lock:
            slot = max(now, self.next_slot.get(name, now))
            if slot > latest:
                return None
            self.next_slot[name] = slot + interval
            return slot

    def hold_off(self, name: str, until: float) -> None:
        with self._lock:
            self.next_slot[name] = max(self.next_slot.get(name, until), until)


def pacer(
    per_second: float,
    clock: Callable[[], float] = lambda: 0.0,
    sleep: Callable[[float], None] = lambda seconds: None,
    caller: Any = "schedule",
) -> SharedQuota:
    """The shared quota on in-memory slots, for unit tests (tests/unit/test_quota.py runs it on DynamoDB)."""
    return SharedQuota(
        MemorySlots(),
        "rapidapi",
        requests_per_second=per_second,
        caller=caller,
        schedule_reserve=0.5,
        clock=clock,
        sleep=sleep,
    )


class MemoryCounter:
    """QuotaCounter in memory (YouTube's daily quota, the platforms' windows), for unit tests; the DynamoDB
    one is tested in tests/unit/test_youtube.py."""

    def __init__(self) -> None:
        self.units: dict[str, int] = {}

    def spend_units(self, counter: str, units: int, limit: int, expires_at: int) -> bool:
        if self.units.get(counter, 0) + units > limit:
            return False
        self.units[counter] = self.units.get(counter, 0) + units
        return True


class FakeClock:
    """Time that moves only when someone sleeps (or a test moves `now`), or, with `advance=False`, stands
    still while the sleeps are recorded. The client's own waits (backoff, Retry-After) go to `sleeps`,
    the rate limiter's spacing to `limiter_sleeps`."""

    def __init__(self, now: float = 1000.0, advance: bool = True) -> None:
        self.now = now
        self.advance = advance
        self.sleeps: list[float] = []
        self.limiter_sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self._record(self.sleeps, seconds)

    def limiter_sleep(self, seconds: float) -> None:
        self._record(self.limiter_sleeps, seconds)

    def _record(self, waits: list[float], seconds: float) -> None:
        with self._lock:
            waits.append(seconds)
            if self.advance:
                self.now += seconds
