"""`run`: DynamoDB Local, the template's tables, and the local API in front of every route."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from localrun import aws_services
from localrun.authorizer import JwtAuthorizer
from localrun.dynamodb import dynamodb_client, ensure_tables, running_dynamodb_local
from localrun.issuer import LocalIssuer
from localrun.lambda_authorizer import LambdaAuthorizer
from localrun.runtime import Handler, function_environment, load_handler
from localrun.server import LocalApi, serve
from localrun.settings import API_PARAMETER_VARIABLES, LOCAL_AUDIENCE, REPO_ROOT, LocalSettings
from localrun.shared_secret import SECRET_FILE, with_local_secret
from localrun.template import JwtAuthorizerSpec, LambdaAuthorizerSpec, Resolver, SamTemplate, TemplateError


def local_parameter_values(template: SamTemplate, settings: LocalSettings) -> dict[str, str]:
    """Local values for Parameters: the API's own from the environment (AUTH_MODE, CORS_ALLOW_ORIGINS,
    UPSTREAM_API_URL, AUTHORIZER_CACHE_SECONDS), and, while a JWT authorizer guards the routes, the
    local issuer and audience for the Parameters it reads.

    Those have no value of their own (each deployment names its identity provider), and locally the
    only identity provider is the local issuer.
    """
    parameters = template.data.get("Parameters", {})
    values = {
        name: os.environ[variable]
        for name, variable in API_PARAMETER_VARIABLES.items()
        if name in parameters and os.environ.get(variable)
    }
    routes = template.routes(template.resolver(settings.region, values))
    if not any(isinstance(route.authorizer, JwtAuthorizerSpec) for route in routes):
        return values
    for config in _jwt_configurations(template.data.get("Resources", {})):
        for key, value in (("issuer", settings.issuer_url), ("audience", LOCAL_AUDIENCE)):
            reference = config.get(key)
            if isinstance(reference, Mapping) and reference.get("Ref") in parameters:
                values[reference["Ref"]] = value
    return values


# Parameters whose local value differs from the deployed default: the local API serves its docs page.
LOCAL_PARAMETERS = {"ServeApiDocs": "true"}


def _jwt_configurations(node: Any) -> Iterator[Mapping[str, Any]]:
    """Every JWT authorizer configuration in `node`: SAM's JwtConfiguration, OpenAPI's jwtConfiguration."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("JwtConfiguration", "jwtConfiguration") and isinstance(value, Mapping):
                yield value
            else:
                yield from _jwt_configurations(value)
    elif isinstance(node, list):
        for item in node:
            yield from _jwt_configurations(item)


def accepts_app_tokens(template: SamTemplate, settings: LocalSettings) -> bool:
    """Whether the routes in force are guarded by a Lambda authorizer (AuthMode shared-secret)."""
    routes = template.routes(template_resolver(template, settings))
    return any(isinstance(route.authorizer, LambdaAuthorizerSpec) for route in routes)


def template_resolver(template: SamTemplate, settings: LocalSettings) -> Resolver:
    """The resolver every local command uses, so they all see the same names and values."""
    return template.resolver(
        settings.region, {**LOCAL_PARAMETERS, **local_parameter_values(template, settings)}
    )


def build_local_api(settings: LocalSettings, template: SamTemplate, log: Any = print) -> LocalApi:
    """The local API for the template: every HttpApi route, its authorizer, and its loaded handler."""
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
            api = build_local_api(settings, template)
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
