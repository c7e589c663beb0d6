"""`run`: DynamoDB Local, the template's tables, and the local API in front of every route."""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping
from typing import Any

from localrun import aws_services
from localrun.authorizer import JwtAuthorizer
from localrun.dynamodb import dynamodb_client, ensure_tables, running_dynamodb_local
from localrun.issuer import LocalIssuer
from localrun.runtime import Handler, function_environment, load_handler
from localrun.server import LocalApi, serve
from localrun.settings import LOCAL_AUDIENCE, REPO_ROOT, LocalSettings
from localrun.template import Resolver, SamTemplate, TemplateError


def local_parameter_values(template: SamTemplate, settings: LocalSettings) -> dict[str, str]:
    """Local values for the Parameters the JWT authorizers read: the local issuer and audience.

    Those Parameters have no Default (each deployment names its identity provider), and
    locally the only identity provider is the local issuer.
    """
    parameters = template.data.get("Parameters", {})
    values = {}
    for resource in template.resources.values():
        if resource.get("Type") != "AWS::Serverless::HttpApi":
            continue
        for authorizer in resource.get("Properties", {}).get("Auth", {}).get("Authorizers", {}).values():
            config = authorizer.get("JwtConfiguration", {})
            for key, value in (("issuer", settings.issuer_url), ("audience", LOCAL_AUDIENCE)):
                reference = config.get(key)
                if isinstance(reference, Mapping) and reference.get("Ref") in parameters:
                    values[reference["Ref"]] = value
    return values


def template_resolver(template: SamTemplate, settings: LocalSettings) -> Resolver:
    """The resolver every local command uses, so they all see the same names and values."""
    return template.resolver(settings.region, local_parameter_values(template, settings))


def build_local_api(settings: LocalSettings, template: SamTemplate, log: Any = print) -> LocalApi:
    """The local API for the template: every HttpApi route, its authorizer, and its loaded handler."""
    resolver = template_resolver(template, settings)
    issuer = LocalIssuer.load_or_create(settings.issuer_dir, settings.issuer_url, LOCAL_AUDIENCE)
    routes = template.routes(resolver)
    functions = template.functions()

    authorizers = {}
    for spec in {route.authorizer for route in routes if route.authorizer is not None}:
        if spec.issuer != settings.issuer_url or LOCAL_AUDIENCE not in spec.audiences:
            raise TemplateError(
                f"authorizer {spec.name} trusts {spec.issuer} for {list(spec.audiences)}; locally it must "
                f"trust the local issuer, so take its issuer and audience from Parameters"
            )
        authorizers[spec.name] = JwtAuthorizer(spec.issuer, spec.audiences, issuer.jwks())

    handlers: dict[str, Handler] = {}
    seen: dict[str, tuple[str, str]] = {}
    for function_id in sorted({route.function_id for route in routes}):
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
            api = build_local_api(settings, template)
            server = serve(api, settings.port)
            _print_banner(settings, api)
            try:
                server.serve_forever()
            finally:
                server.server_close()
    except KeyboardInterrupt:
        pass
    print("Stopped the local API and DynamoDB Local.", flush=True)


def _print_banner(settings: LocalSettings, api: LocalApi) -> None:
    default_port = settings.port == 3000
    token_command = "make token SUB=alice" + ("" if default_port else f" PORT={settings.port}")
    data_dir = settings.dynamodb_data_dir
    shown_dir = data_dir.relative_to(REPO_ROOT) if data_dir.is_relative_to(REPO_ROOT) else data_dir
    profile_url = f"{settings.api_url}/api/v1/profiles/me"
    lines = [
        "",
        f"Social Sync local API: {settings.api_url}",
        *(f"  {route.route_key:<45} {route.function_id}" for route in api.routes),
        "",
        f"Get a token:  {token_command}",
        f'Then:         curl -H "Authorization: Bearer $({token_command})" {profile_url}',
        f"Issuer:       {settings.issuer_url} (JWKS at {settings.issuer_url}/.well-known/jwks.json)",
        f"Ctrl-C stops the API and DynamoDB Local; data stays in {shown_dir}",
        "",
    ]
    print("\n".join(lines), flush=True)
    sys.stdout.flush()
