"""The local HTTP API: what API Gateway does in front of the functions, on 127.0.0.1.

`LocalApi.handle` is the gateway (route match, CORS, JWT authorizer, event, response
mapping) as a plain function of a request, and `serve` puts it behind a threaded
HTTP server, so many requests run their handlers at once as they would in Lambda.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from localrun import aws_services, upstream
from localrun.authorizer import Forbidden, JwtAuthorizer, Unauthorized
from localrun.events import HttpRequest, build_http_api_event
from localrun.issuer import LocalIssuer
from localrun.lambda_authorizer import AuthorizerFailed, LambdaAuthorizer
from localrun.runtime import Handler, new_context
from localrun.settings import ISSUER_PATH
from localrun.template import CorsSpec, FunctionSpec, RouteSpec

# API Gateway's own limit on an HTTP API request; the functions enforce their smaller one.
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass
class HttpResponse:
    """A response on its way back to the client."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def gateway_error(status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    """An answer API Gateway gives itself, e.g. 404 {"message":"Not Found"}."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return HttpResponse(status, [("content-type", "application/json"), *headers], body)


def json_response(document: Mapping[str, Any]) -> HttpResponse:
    """A 200 JSON response (the issuer's documents)."""
    return HttpResponse(200, [("content-type", "application/json")], json.dumps(document).encode())


class Router:
    """Matches a method and path to a route the way HTTP API does.

    Exact paths win over paths with {parameters}, which win over {proxy+}; a route for
    the method wins over ANY; $default catches what nothing else matches.
    """

    def __init__(self, routes: Sequence[RouteSpec]) -> None:
        compiled = [(self._priority(route), route, self._pattern(route.path)) for route in routes]
        self._routes = [(route, pattern) for _, route, pattern in sorted(compiled, key=lambda item: item[0])]

    def match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        """The route for `method` and `path`, with its path parameters; None when nothing matches."""
        for route, pattern in self._routes:
            if route.method not in (method, "ANY"):
                continue
            found = pattern.fullmatch(path)
            if found:
                return route, {name: unquote(value) for name, value in found.groupdict().items()}
        return None

    @staticmethod
    def _priority(route: RouteSpec) -> tuple[int, int, int]:
        if route.path == "$default":
            return (3, 0, 0)
        greedy = "+}" in route.path
        parameters = route.path.count("{")
        return (2 if greedy else 1 if parameters else 0, -route.path.count("/"), route.method == "ANY")

    @staticmethod
    def _pattern(path: str) -> re.Pattern[str]:
        if path == "$default":
            return re.compile(r".*")
        pattern = ""
        for part in re.split(r"(\{[^}]+\})", path):
            if part.startswith("{") and part.endswith("+}"):
                pattern += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                pattern += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                pattern += re.escape(part)
        return re.compile(pattern)


class LocalApi:
    """The gateway: routes, authorizers, CORS and the handlers they lead to."""

    def __init__(
        self,
        routes: Sequence[RouteSpec],
        functions: Mapping[str, FunctionSpec],
        handlers: Mapping[str, Handler],
        authorizers: Mapping[str, JwtAuthorizer | LambdaAuthorizer],
        issuer: LocalIssuer,
        cors: CorsSpec | None,
        region: str,
        port: int,
        log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
        aws_access_key_id: str | None = None,
        documents: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.routes = list(routes)
        self.router = Router(routes)
        self.functions = functions
        self.handlers = handlers
        self.authorizers = authorizers
        self.issuer = issuer
        self.cors = cors
        self.region = region
        self.port = port
        self.log = log
        # The key id the local functions sign AWS calls with; without one, /__aws answers nobody.
        self.aws_access_key_id = aws_access_key_id
        # Path -> a JSON document served on GET without a token, before any route (the OpenAPI document).
        self.documents = dict(documents or {})

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request as API Gateway and Lambda together would."""
        if self.cors and request.method == "OPTIONS" and request.header("access-control-request-method"):
            return self._preflight(request)
        response = self._route(request)
        if self.cors and request.header("origin"):
            self._add_cors_headers(request, response)
        return response

    def _route(self, request: HttpRequest) -> HttpResponse:
        if request.raw_path.startswith(aws_services.ENDPOINT_PATH):
            status, headers, body = aws_services.answer(request, self.log, self.aws_access_key_id)
            return HttpResponse(status, list(headers.items()), body)
        if request.method == "GET" and request.raw_path == f"{ISSUER_PATH}/.well-known/jwks.json":
            return json_response(self.issuer.jwks())
        if request.method == "GET" and request.raw_path == f"{ISSUER_PATH}/.well-known/openid-configuration":
            return json_response(self.issuer.openid_configuration())
        if request.method == "GET" and request.raw_path in self.documents:
            return json_response(self.documents[request.raw_path])
        matched = self.router.match(request.method, unquote(request.raw_path))
        if matched is None:
            return gateway_error(404, "Not Found")
        route, path_parameters = matched
        claims = lambda_context = None
        if route.authorizer is not None:
            authorizer = self.authorizers[route.authorizer.name]
            try:
                if isinstance(authorizer, LambdaAuthorizer):
                    lambda_context = authorizer.authorize(request, route.route_key, path_parameters)
                else:
                    claims = authorizer.authorize(request.header(route.authorizer.header), route.scopes)
            except Unauthorized as refusal:
                if isinstance(authorizer, LambdaAuthorizer):
                    return gateway_error(401, "Unauthorized")
                challenge = f'Bearer scope="" error="invalid_token" error_description="{refusal.description}"'
                return gateway_error(401, "Unauthorized", [("www-authenticate", challenge)])
            except Forbidden:
                return gateway_error(403, "Forbidden")
            except AuthorizerFailed:
                return gateway_error(500, "Internal Server Error")
        if route.http_proxy_uri is not None:
            url = upstream.upstream_url(route.http_proxy_uri, route.path, request.raw_path, request.raw_query)
            return HttpResponse(*upstream.forward(request, url))
        event = build_http_api_event(
            request,
            route.route_key,
            path_parameters,
            claims,
            route.scopes or None,
            port=self.port,
            lambda_context=lambda_context,
        )
        return self._invoke(route.function_id, event)

    def _invoke(self, function_id: str, event: dict[str, Any]) -> HttpResponse:
        function = self.functions[function_id]
        context = new_context(function, self.region)
        started = time.monotonic()
        try:
            result = self.handlers[function_id](event, context)
        except Exception:
            # Like Lambda: the traceback goes to the function's log, never to the caller.
            self.log(f"{function_id} raised:\n{traceback.format_exc()}")
            return gateway_error(500, "Internal Server Error")
        elapsed = time.monotonic() - started
        if elapsed > function.timeout_seconds:
            self.log(f"{function_id} ran {elapsed:.1f}s, past its Timeout of {function.timeout_seconds}s")
        try:
            return response_from_result(result)
        except (TypeError, ValueError) as error:
            self.log(f"{function_id} returned a response API Gateway cannot use: {error}")
            return gateway_error(500, "Internal Server Error")

    def _allowed_origin(self, origin: str) -> str | None:
        assert self.cors is not None
        if "*" in self.cors.allow_origins:
            return origin if self.cors.allow_credentials else "*"
        return origin if origin in self.cors.allow_origins else None

    def _preflight(self, request: HttpRequest) -> HttpResponse:
        assert self.cors is not None
        response = HttpResponse(204)
        allowed = self._allowed_origin(request.header("origin") or "")
        if allowed is None:
            return response
        requested_headers = request.header("access-control-request-headers") or ""
        allow_headers = (
            requested_headers if "*" in self.cors.allow_headers else ",".join(self.cors.allow_headers)
        )
        response.headers += [
            ("access-control-allow-origin", allowed),
            ("access-control-allow-methods", ",".join(self.cors.allow_methods)),
        ]
        if allowed != "*":
            # The answer depends on the Origin: caches must not hand it to another origin.
            response.headers.append(("vary", "origin"))
        if allow_headers:
            response.headers.append(("access-control-allow-headers", allow_headers))
        if self.cors.max_age is not None:
            response.headers.append(("access-control-max-age", str(self.cors.max_age)))
        if self.cors.allow_credentials:
            response.headers.append(("access-control-allow-credentials", "true"))
        return response

    def _add_cors_headers(self, request: HttpRequest, response: HttpResponse) -> None:
        assert self.cors is not None
        # API Gateway answers CORS itself and drops what the function says about it.
        response.headers = [
            (k, v) for k, v in response.headers if not k.lower().startswith("access-control-")
        ]
        allowed = self._allowed_origin(request.header("origin") or "")
        if allowed is None:
            return
        response.headers.append(("access-control-allow-origin", allowed))
        if allowed != "*":
            response.headers.append(("vary", "origin"))
        if self.cors.expose_headers:
            response.headers.append(("access-control-expose-headers", ",".join(self.cors.expose_headers)))
        if self.cors.allow_credentials:
            response.headers.append(("access-control-allow-credentials", "true"))


def printable(text: str, limit: int = 300) -> str:
    """`text` for a log line: control and other unprintable characters escaped, at most `limit` long."""
    shown = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def response_from_result(result: Any) -> HttpResponse:
    """The HTTP response API Gateway makes of a handler's result (payload format 2.0).

    A result with a statusCode is taken as it is; anything else is sent as a 200 JSON body.
    """
    if not (isinstance(result, dict) and "statusCode" in result):
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], text.encode())
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status} is not an HTTP status")
    headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("set-cookie", str(cookie)) for cookie in result.get("cookies") or []]
    body = result.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise TypeError(f"body must be a string, not {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = body.encode()
    return HttpResponse(status, headers, data)


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into an HttpRequest for LocalApi and writes back its answer."""

    protocol_version = "HTTP/1.1"
    server_version = "localrun"
    # Seconds a connection may sit idle mid-request (or between keep-alive requests) before its thread
    # is freed; no read of a client's request ever blocks longer.
    timeout = 30
    # Headers and body go out in two writes; with Nagle's algorithm the body waits for the client's
    # delayed ACK of the headers, about 40 ms on every response.
    disable_nagle_algorithm = True
    api: LocalApi  # set on the subclass `serve` makes

    def _dispatch(self) -> None:
        started = time.monotonic()
        body, error = self._read_body()
        if error is not None:
            response = error
            self.close_connection = True
        else:
            path, _, query = self.path.partition("?")
            request = HttpRequest(
                method=self.command,
                raw_path=path,
                raw_query=query,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                protocol=self.request_version,
            )
            try:
                response = self.api.handle(request)
            except Exception:
                self.api.log(f"local API failed:\n{traceback.format_exc()}")
                response = gateway_error(500, "Internal Server Error")
        self._write(response)
        # The path only (a query string or header could carry something secret), escaped: a path is the
        # client's, and raw control characters would drive the developer's terminal.
        elapsed_ms = (time.monotonic() - started) * 1000
        shown = printable(self.command) + " " + printable(self.path.partition("?")[0])
        self.api.log(f"{shown} -> {response.status} ({elapsed_ms:.0f} ms)")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) reaches the router too, so a method no route takes gets
        # API Gateway's 404 {"message":"Not Found"}, not http.server's HTML 501 page.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def _read_body(self) -> tuple[bytes, HttpResponse | None]:
        # A client that stops sending mid-body gives up its thread after `timeout` (socket.timeout).
        try:
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                return self._read_chunked()
            lengths = self.headers.get_all("content-length") or ["0"]
            # Only digits (no sign, no junk) and only one value, as HTTP/1.1 requires.
            if len(set(lengths)) != 1 or not (lengths[0].isascii() and lengths[0].isdigit()):
                return b"", gateway_error(400, "Bad Request")
            length = int(lengths[0])
            if length > MAX_BODY_BYTES:
                return b"", gateway_error(413, "Request Entity Too Large")
            body = self.rfile.read(length)
        except (TimeoutError, ValueError):
            return b"", gateway_error(400, "Bad Request")
        if len(body) < length:  # the client closed before sending what it announced
            return b"", gateway_error(400, "Bad Request")
        return body, None

    def _read_chunked(self) -> tuple[bytes, HttpResponse | None]:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks), None
            total += size
            if total > MAX_BODY_BYTES:
                return b"", gateway_error(413, "Request Entity Too Large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("apigw-requestid", base64.b64encode(time.time_ns().to_bytes(8, "big")).decode())
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own log; _dispatch logs one line per request."""


class LocalApiServer(ThreadingHTTPServer):
    """A thread per connection, so handlers run concurrently as separate Lambda instances would."""

    daemon_threads = True
    # The default backlog of 5 drops connections when the app fires many syncs at once.
    request_queue_size = 256


def serve(api: LocalApi, port: int, host: str = "127.0.0.1") -> LocalApiServer:
    """A server for `api` bound to host:port (not yet serving; call serve_forever)."""
    handler = type("RequestHandler", (_RequestHandler,), {"api": api})
    return LocalApiServer((host, port), handler)
