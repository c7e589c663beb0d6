"""The values template.yaml's Parameters take locally, and the resolver every local command reads it with.

`make run`, `make token`, `make invoke`, `make sync-now` and the OpenAPI generator all resolve the
template through `template_resolver`, so they see the same routes, names and variables.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from localrun.settings import API_PARAMETER_VARIABLES, LOCAL_AUDIENCE, LocalSettings
from localrun.template import JwtAuthorizerSpec, LambdaAuthorizerSpec, Resolver, SamTemplate

# Parameters whose local value differs from the deployed default: the local API serves its docs page.
LOCAL_PARAMETERS = {"ServeApiDocs": "true"}


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
