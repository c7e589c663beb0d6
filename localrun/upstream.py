"""The pass-through to the app's existing backend: an HTTP proxy integration as API Gateway runs it.

The request goes on as it came (method, path, query string, headers with Authorization, body) to
the integration URI with the route's path parameters filled in, and the backend's answer comes
back as it is (status, headers, body). Only the connection's own headers are not passed on (Host
names the backend, Content-Length is counted again), as with any proxy. A backend that cannot be
reached is API Gateway's 503, one that does not answer within 30 s its 504.
"""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlsplit

from localrun.events import HttpRequest

TIMEOUT_SECONDS = 30
# API Gateway's own limit on a response of an HTTP API.
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
HOP_BY_HOP = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length",
    }
)  # fmt: skip

Answer = tuple[int, list[tuple[str, str]], bytes]


def upstream_url(uri_template: str, route_path: str, raw_path: str, raw_query: str) -> str:
    """The integration URI with the route's path parameters as they appear in the request (still encoded)."""
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", route_path):
        if part.startswith("{"):
            name = part[1:-1].removesuffix("+")
            pattern += f"(?P<{name}>.+)" if part.endswith("+}") else f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(part)
    found = re.fullmatch(pattern, raw_path)
    parameters = found.groupdict() if found else {}
    url = re.sub(r"\{([^}+]+)\+?\}", lambda match: parameters.get(match.group(1), ""), uri_template)
    return f"{url}?{raw_query}" if raw_query else url


def forward(request: HttpRequest, url: str, timeout: float = TIMEOUT_SECONDS) -> Answer:
    """Send `request` to `url` and return the answer, or API Gateway's own 503 / 504."""
    target = urlsplit(url)
    connection_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(target.hostname or "", target.port, timeout=timeout)
    path = target.path or "/"
    if target.query:
        path += f"?{target.query}"
    try:
        connection.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", target.netloc)
        for name, value in request.headers:
            if name.lower() not in HOP_BY_HOP:
                connection.putheader(name, value)
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(request.body)))
        connection.endheaders(request.body or None)
        response = connection.getresponse()
        body = response.read(MAX_RESPONSE_BYTES + 1)
        if len(body) > MAX_RESPONSE_BYTES:
            return _gateway(502, "Bad Gateway")
        headers = [(name, value) for name, value in response.getheaders() if name.lower() not in HOP_BY_HOP]
        return response.status, headers, body
    except TimeoutError:
        return _gateway(504, "Gateway Timeout")
    except (OSError, http.client.HTTPException):
        return _gateway(503, "Service Unavailable")
    finally:
        connection.close()


def _gateway(status: int, message: str) -> Answer:
    return status, [("content-type", "application/json")], f'{{"message":"{message}"}}'.encode()
