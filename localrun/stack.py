"""`run`: DynamoDB Local, the template's tables, and the local API in front of every route."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

from localrun import aws_services
from localrun.authorizer import JwtAuthorizer
from localrun.dynamodb import dynamodb_client, ensure_tables, running_dynamodb_local
from localrun.issuer import LocalIssuer
from localrun.lambda_authorizer import LambdaAuthorizer
from localrun.openapi import OPENAPI_PATH, UndocumentedRoute, build_document
from localrun.parameters import template_resolver
from localrun.runtime import Handler, function_environment, load_handler
from localrun.server import LocalApi, serve
from localrun.settings import LOCAL_AUDIENCE, REPO_ROOT, LocalSettings
from localrun.shared_secret import SECRET_FILE, with_local_secret
from localrun.template import LambdaAuthorizerSpec, SamTemplate, TemplateError


def api_documents(settings: LocalSettings) -> dict[str, Mapping[str, Any]]:
    """What the local API serves besides the template's routes: the OpenAPI document, generated from
    the template and the layer's models as they are now (without a token, like the issuer's documents).

    While a route has no description yet, the DocsFunction route serves the committed openapi.json.
    """
    try:
        return {OPENAPI_PATH: build_document(settings.template_path)}
    except UndocumentedRoute as error:
        print(f"warning: {error}; serving the committed openapi.json until `make openapi`", flush=True)
        return {}


def build_local_api(
    settings: LocalSettings,
    template: SamTemplate,
    documents: Mapping[str, Mapping[str, Any]],
    log: Any = print,
) -> LocalApi:
    """The local API for the template: every HttpApi route, its authorizer, and its loaded handler, and
    `documents` (path -> JSON document) served as they are."""
    resolver = template_resolver(template, settings)
    issuer = LocalIssuer.load_or_create(settings.issuer_dir, settings.issuer_url, LOCAL_AUDIENCE)
    routes = template.routes(resolver)
    functions = template.functions()

    authorizers: dict[str, JwtAuthorizer | LambdaAuthorizer] = {}
    for spec in {route.authorizer for route in routes if route.authorizer is not None}:
        if isinstance(spec, LambdaAuthorizerSpec):
            function = functions[spec.function_id]
            environment = function_environment(resolver.environment(function), settings)
            handler = load_handler(function, with_local_secret(environment, settings.state_dir))
            authorizers[spec.name] = LambdaAuthorizer(
                spec, function, handler, settings.region, settings.port, log=lambda line: log(line)
            )
            continue
        if spec.issuer != settings.issuer_url or LOCAL_AUDIENCE not in spec.audiences:
            raise TemplateError(
                f"authorizer {spec.name} trusts {spec.issuer} for {list(spec.audiences)}; locally it must "
                f"trust the local issuer, so take its issuer and audience from Parameters"
            )
        authorizers[spec.name] = JwtAuthorizer(spec.issuer, spec.audiences, issuer.jwks())

    handlers: dict[str, Handler] = {}
    seen: dict[str, tuple[str, str]] = {}
    for function_id in sorted({route.function_id for route in routes if route.http_proxy_uri is None}):
        environment = function_environment(resolver.environment(functions[function_id]), settings)
        # One process hosts every function, so they share os.environ; say so if they disagree.
        for name, value in environment.items():
            if name in seen and seen[name][1] != value:
                log(f"warning: {function_id} and {seen[name][0]} set {name} differently; both see {value!r}")
            seen[name] = (function_id, value)
        handlers[function_id] = load_handler(functions[function_id], environment)

    return LocalApi(
        routes=routes,
        functions=functions,
        handlers=handlers,
        authorizers=authorizers,
        issuer=issuer,
        cors=template.cors(resolver),
        region=settings.region,
        port=settings.port,
        aws_access_key_id=aws_services.local_access_key_id(settings.state_dir),
        documents=documents,
    )


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # SIGTERM (from a test fixture or a process manager) ends the run the way Ctrl-C does.
    raise KeyboardInterrupt


def run(settings: LocalSettings) -> None:
    """Serve the local API until Ctrl-C or SIGTERM, with DynamoDB Local beside it."""
    # Ctrl-C must stop the stack even when started from a shell that ignores SIGINT in background jobs.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        with running_dynamodb_local(settings):
            template = SamTemplate(settings.template_path)
            ensure_tables(dynamodb_client(settings), template.tables(template_resolver(template, settings)))
            # Read before the functions' environments are applied to this process's.
            secret_given = bool(os.environ.get("JWT_SECRET"))
            api = build_local_api(settings, template, api_documents(settings))
            server = serve(api, settings.port)
            _print_banner(settings, api, secret_given)
            try:
                server.serve_forever()
            finally:
                server.server_close()
    except KeyboardInterrupt:
        pass
    print("Stopped the local API and DynamoDB Local.", flush=True)


def _print_banner(settings: LocalSettings, api: LocalApi, secret_given: bool) -> None:
    app_tokens = any(isinstance(authorizer, LambdaAuthorizer) for authorizer in api.authorizers.values())
    default_port = settings.port == 3000
    token_command = (
        "make token SUB=alice"
        + ("" if default_port else f" PORT={settings.port}")
        + (" AUTH_MODE=shared-secret" if app_tokens else "")
    )
    data_dir = settings.dynamodb_data_dir
    shown_dir = data_dir.relative_to(REPO_ROOT) if data_dir.is_relative_to(REPO_ROOT) else data_dir
    profile_url = f"{settings.api_url}/api/v1/profiles/me"
    if app_tokens:
        kept = settings.state_dir / SECRET_FILE
        kept_at = kept.relative_to(REPO_ROOT) if kept.is_relative_to(REPO_ROOT) else kept
        shown_secret = (
            "JWT_SECRET; give make token the same" if secret_given else f"generated, kept in {kept_at}"
        )
        auth_line = f"Auth:         shared-secret, the app's HS256 tokens (secret: {shown_secret})"
    else:
        auth_line = (
            f"Issuer:       {settings.issuer_url} (JWKS at {settings.issuer_url}/.well-known/jwks.json)"
        )
    lines = [
        "",
        f"Social Sync local API: {settings.api_url}",
        *(
            f"  {route.route_key:<45} {route.function_id or 'passed to ' + str(route.http_proxy_uri)}"
            for route in api.routes
        ),
        "",
        f"Get a token:  {token_command}",
        f'Then:         curl -H "Authorization: Bearer $({token_command})" {profile_url}',
        f"API docs:     {settings.api_url}/api/v1/docs (Swagger UI: Authorize with that token, Try it out)",
        auth_line,
        f"Ctrl-C stops the API and DynamoDB Local; data stays in {shown_dir}",
        "",
    ]
    print("\n".join(lines), flush=True)
    sys.stdout.flush()
