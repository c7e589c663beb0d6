"""Read template.yaml: its functions, HTTP API routes, JWT authorizer, CORS and tables.

The local run takes everything from the template so the local API cannot drift from
what `sam deploy` builds. Intrinsic functions are resolved with local values: a
Parameter's Default (or a local value the caller gives), a resource's logical id
as its name, and made-up ARNs in the local account and region.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnlint.decode import decode  # type: ignore[import-untyped]

from localrun.settings import LOCAL_ACCOUNT_ID

# What `!Ref AWS::NoValue` resolves to: the property that holds it is dropped, as CloudFormation does.
NO_VALUE = object()


class TemplateError(Exception):
    """The template cannot be run locally as written."""


@dataclass(frozen=True)
class FunctionSpec:
    """One AWS::Serverless::Function, with Globals.Function merged in."""

    logical_id: str
    code_dir: Path
    handler: str
    memory_mb: int
    timeout_seconds: int
    layer_dirs: tuple[Path, ...]
    # Environment.Variables as written (intrinsics unresolved); see Resolver.environment.
    variables: Mapping[str, Any]

    @property
    def handler_file(self) -> Path:
        """The Python file that holds the handler (`app.lambda_handler` -> code_dir/app.py)."""
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / (module.replace(".", "/") + ".py")

    @property
    def handler_name(self) -> str:
        """The handler's attribute name in its module."""
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    """A JWT authorizer of an HTTP API, its issuer and audiences resolved."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    header: str


@dataclass(frozen=True)
class LambdaAuthorizerSpec:
    """An HTTP API Lambda authorizer (type request): its function, identity header and cache."""

    name: str
    function_id: str
    header: str
    ttl_seconds: int
    payload_format_version: str = "2.0"
    simple_responses: bool = True


@dataclass(frozen=True)
class RouteSpec:
    """One route: an HttpApi event of a function, or an HTTP proxy route of the API's OpenAPI document."""

    method: str
    path: str
    function_id: str
    authorizer: JwtAuthorizerSpec | LambdaAuthorizerSpec | None
    scopes: tuple[str, ...] = ()
    # An HTTP proxy integration's URI ({name} replaced by the path parameter): no function runs.
    http_proxy_uri: str | None = None

    @property
    def route_key(self) -> str:
        """The routeKey API Gateway puts in the event, e.g. `POST /api/v1/profiles/me`."""
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class CorsSpec:
    """An HTTP API's CorsConfiguration, resolved."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False


@dataclass(frozen=True)
class TableSpec:
    """An AWS::DynamoDB::Table: its local name and its Properties, resolved."""

    logical_id: str
    name: str
    properties: Mapping[str, Any]


@dataclass
class Resolver:
    """Resolves intrinsic functions the way CloudFormation would, with local values."""

    template: Mapping[str, Any]
    region: str
    # Values for Parameters that override their Default (e.g. the local JWT issuer).
    parameter_values: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic function inside `value` (recursively)."""
        if isinstance(value, Mapping):
            if len(value) == 1:
                [(key, arg)] = value.items()
                if key == "Ref":
                    return self._ref(arg)
                if key == "Fn::GetAtt":
                    resource, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                    return self._get_att(resource, attribute)
                if key == "Fn::Sub":
                    return self._sub(arg)
                if key == "Fn::Join":
                    delimiter, items = arg
                    return delimiter.join(str(item) for item in self.resolve(items))
                if key == "Fn::Select":
                    index, items = arg
                    return self.resolve(items)[int(self.resolve(index))]
                if key == "Fn::Split":
                    delimiter, text = arg
                    return str(self.resolve(text)).split(delimiter)
                if key == "Fn::If":
                    condition, if_true, if_false = arg
                    return self.resolve(if_true if self.condition(condition) else if_false)
                if key in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"):
                    return self._evaluate(key, arg)
                if key.startswith("Fn::"):
                    raise TemplateError(f"{key} is not supported by the local run")
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        return value

    def condition(self, name: str) -> bool:
        """The value of one of the template's Conditions with the local parameter values."""
        conditions = self.template.get("Conditions", {})
        if name not in conditions:
            raise TemplateError(f"unknown Condition {name}")
        return bool(self.resolve(conditions[name]))

    def _evaluate(self, key: str, arg: Any) -> bool:
        if key == "Condition":
            return self.condition(arg)
        if key == "Fn::Equals":
            left, right = (self.resolve(item) for item in arg)
            return bool(left == right)
        values = [bool(self.resolve(item)) for item in arg]
        if key == "Fn::Not":
            return not values[0]
        return all(values) if key == "Fn::And" else any(values)

    def environment(self, function: FunctionSpec) -> dict[str, str]:
        """The function's environment variables as Lambda would see them (strings)."""
        return {name: as_env_value(self.resolve(value)) for name, value in function.variables.items()}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::StackName": "social-sync-local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        parameters = self.template.get("Parameters", {})
        if name in parameters:
            parameter = parameters[name]
            if name in self.parameter_values:
                raw = self.parameter_values[name]
            elif "Default" in parameter:
                raw = parameter["Default"]
            else:
                raise TemplateError(f"Parameter {name} has no Default and no local value")
            if parameter.get("Type") == "CommaDelimitedList":
                return [item.strip() for item in str(raw).split(",")]
            return str(raw)
        resource = self.template.get("Resources", {}).get(name)
        if resource is None:
            raise TemplateError(f"Ref to unknown name {name}")
        if resource["Type"] == "AWS::SQS::Queue":
            # A queue's Ref is its URL.
            queue = physical_name(name, resource, self)
            return f"https://sqs.{self.region}.amazonaws.com/{LOCAL_ACCOUNT_ID}/{queue}"
        return physical_name(name, resource, self)

    def _get_att(self, resource_id: str, attribute: str) -> str:
        resource = self.template.get("Resources", {}).get(resource_id)
        if resource is None:
            raise TemplateError(f"GetAtt of unknown resource {resource_id}")
        name = physical_name(resource_id, resource, self)
        service = resource["Type"].split("::")[1].lower()
        if resource["Type"] == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{LOCAL_ACCOUNT_ID}:table/{name}"
        if attribute == "Arn":
            return f"arn:aws:{service}:{self.region}:{LOCAL_ACCOUNT_ID}:{name}"
        return f"{name}.{attribute}"

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def substitute(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"  # ${!Literal} stays literal
            if expression in variables:
                return str(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                resource_id, attribute = expression.split(".", 1)
                return self._get_att(resource_id, attribute)
            return str(self._ref(expression))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)


def physical_name(logical_id: str, resource: Mapping[str, Any], resolver: Resolver) -> str:
    """A resource's local name: its explicit name property if it has one, else its logical id."""
    explicit = {
        "AWS::DynamoDB::Table": "TableName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::Events::EventBus": "Name",
    }.get(resource["Type"])
    properties = resource.get("Properties", {})
    if explicit and explicit in properties:
        return str(resolver.resolve(properties[explicit]))
    return logical_id


def as_env_value(value: Any) -> str:
    """Render a resolved value as an environment variable (lists comma-joined like CloudFormation)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(as_env_value(item) for item in value)
    return "" if value is None or value is NO_VALUE else str(value)


class SamTemplate:
    """A SAM template on disk, read with cfn-lint's loader (which understands !Ref and friends)."""

    def __init__(self, path: Path) -> None:
        template, problems = decode(str(path))
        if template is None:
            raise TemplateError(f"cannot read {path}: {'; '.join(str(p) for p in problems)}")
        self.root = path.parent
        self.data: Mapping[str, Any] = template

    @property
    def resources(self) -> Mapping[str, Any]:
        """The template's Resources section."""
        resources: Mapping[str, Any] = self.data.get("Resources", {})
        return resources

    def resolver(self, region: str, parameter_values: Mapping[str, str] | None = None) -> Resolver:
        """A Resolver for this template with local values for some Parameters."""
        return Resolver(self.data, region, dict(parameter_values or {}))

    def functions(self) -> dict[str, FunctionSpec]:
        """Every AWS::Serverless::Function, by logical id, with Globals.Function applied."""
        globals_ = self.data.get("Globals", {}).get("Function", {})
        functions = {}
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            own = resource.get("Properties", {})
            merged = {**globals_, **own}
            code_uri = merged.get("CodeUri")
            if not isinstance(code_uri, str):
                raise TemplateError(f"{logical_id}: only a local CodeUri folder can run locally")
            variables = {
                **globals_.get("Environment", {}).get("Variables", {}),
                **own.get("Environment", {}).get("Variables", {}),
            }
            # SAM appends a function's own Layers to the global ones.
            layers = [*globals_.get("Layers", []), *own.get("Layers", [])]
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_dir=(self.root / code_uri).resolve(),
                handler=str(merged.get("Handler", "")),
                memory_mb=int(merged.get("MemorySize", 128)),
                timeout_seconds=int(merged.get("Timeout", 3)),
                layer_dirs=tuple(self._layer_dir(logical_id, layer) for layer in layers),
                variables=variables,
            )
        return functions

    def routes(self, resolver: Resolver) -> list[RouteSpec]:
        """Every HttpApi event of every function deployed (its Condition holds), with its authorizer."""
        routes = []
        for logical_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Serverless::Function":
                continue
            if "Condition" in resource and not resolver.condition(resource["Condition"]):
                continue  # not deployed with these parameter values
            for event_name, event in resource.get("Properties", {}).get("Events", {}).items():
                if event.get("Type") != "HttpApi":
                    continue
                properties = event.get("Properties", {})
                api_properties = self._http_api_properties(properties.get("ApiId"))
                auth = properties.get("Auth", {})
                method, path = properties.get("Method"), properties.get("Path")
                if (method is None) != (path is None):
                    raise TemplateError(f"{logical_id}.{event_name}: give both Method and Path, or neither")
                method = str(method).upper() if method else "ANY"
                path = str(path) if path else "$default"
                # The event's own Auth, else the security its operation has in the API's OpenAPI
                # document (resolved: it may depend on conditions), else the API's DefaultAuthorizer.
                operation = _operation(self._definition(api_properties, resolver), method, path)
                security = operation.get("security")
                default_authorizer = api_properties.get("Auth", {}).get("DefaultAuthorizer")
                if "Authorizer" in auth:
                    authorizer_name = auth["Authorizer"]
                elif security is not None:
                    authorizer_name = next(iter(security[0]), None) if security else None
                else:
                    authorizer_name = default_authorizer
                routes.append(
                    RouteSpec(
                        method=method,
                        path=path,
                        function_id=logical_id,
                        authorizer=self._authorizer(api_properties, authorizer_name, resolver),
                        scopes=tuple(auth.get("AuthorizationScopes", ())),
                    )
                )
        return routes + self._http_proxy_routes(resolver)

    def _http_proxy_routes(self, resolver: Resolver) -> list[RouteSpec]:
        """The HTTP proxy routes of every HttpApi's OpenAPI document (the UpstreamApiUrl pass-through)."""
        routes = []
        for api_id, resource in self.resources.items():
            if resource.get("Type") != "AWS::Serverless::HttpApi":
                continue
            api_properties = self._http_api_properties({"Ref": api_id})
            for path, methods in self._definition(api_properties, resolver).get("paths", {}).items():
                for method, operation in methods.items():
                    integration = operation.get("x-amazon-apigateway-integration", {})
                    if str(integration.get("type", "")).lower() != "http_proxy":
                        continue
                    security = operation.get("security") or [{}]
                    routes.append(
                        RouteSpec(
                            method="ANY" if method == "x-amazon-apigateway-any-method" else method.upper(),
                            path=path,
                            function_id="",
                            authorizer=self._authorizer(
                                api_properties, next(iter(security[0]), None), resolver
                            ),
                            http_proxy_uri=str(integration["uri"]),
                        )
                    )
        return routes

    def cors(self, resolver: Resolver, api_id: str | None = None) -> CorsSpec | None:
        """The CORS configuration of an HTTP API (the first one declared when not named), if any."""
        if api_id is None:
            apis = [rid for rid, r in self.resources.items() if r.get("Type") == "AWS::Serverless::HttpApi"]
            api_id = apis[0] if apis else None
        properties = self._http_api_properties({"Ref": api_id} if api_id else None)
        config = resolver.resolve(properties.get("CorsConfiguration"))
        if not config:
            # The same settings in the OpenAPI document, keys in camelCase.
            document = self._definition(properties, resolver).get("x-amazon-apigateway-cors")
            config = {key[0].upper() + key[1:]: value for key, value in (document or {}).items()}
        if not config:
            return None
        if config is True:
            return CorsSpec(allow_origins=("*",), allow_methods=("*",), allow_headers=("*",))

        def strings(key: str) -> tuple[str, ...]:
            value = config.get(key, [])
            return tuple(str(item).strip() for item in (value if isinstance(value, list) else [value]))

        return CorsSpec(
            allow_origins=strings("AllowOrigins"),
            allow_methods=tuple(m.upper() for m in strings("AllowMethods")),
            allow_headers=tuple(h.lower() for h in strings("AllowHeaders")),
            expose_headers=tuple(h.lower() for h in strings("ExposeHeaders")),
            max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
            allow_credentials=bool(config.get("AllowCredentials", False)),
        )

    def tables(self, resolver: Resolver) -> list[TableSpec]:
        """Every AWS::DynamoDB::Table, its Properties resolved."""
        return [
            TableSpec(
                logical_id=logical_id,
                name=physical_name(logical_id, resource, resolver),
                properties=resolver.resolve(resource.get("Properties", {})),
            )
            for logical_id, resource in self.resources.items()
            if resource.get("Type") == "AWS::DynamoDB::Table"
        ]

    def _layer_dir(self, function_id: str, layer: Any) -> Path:
        layer_id = layer.get("Ref") if isinstance(layer, Mapping) else None
        resource = self.resources.get(layer_id or "", {})
        content_uri = resource.get("Properties", {}).get("ContentUri")
        if resource.get("Type") != "AWS::Serverless::LayerVersion" or not isinstance(content_uri, str):
            raise TemplateError(f"{function_id}: only layers built from a local ContentUri can run locally")
        return (self.root / content_uri).resolve()

    def _http_api_properties(self, api_ref: Any) -> Mapping[str, Any]:
        if api_ref is None:
            # Events without ApiId belong to the implicit API that Globals.HttpApi configures.
            implicit_api: Mapping[str, Any] = self.data.get("Globals", {}).get("HttpApi", {})
            return implicit_api
        api_id = api_ref.get("Ref") if isinstance(api_ref, Mapping) else None
        resource = self.resources.get(api_id or "")
        if resource is None or resource.get("Type") != "AWS::Serverless::HttpApi":
            raise TemplateError(f"ApiId {api_ref!r} is not an AWS::Serverless::HttpApi of this template")
        globals_api = self.data.get("Globals", {}).get("HttpApi", {})
        return {**globals_api, **resource.get("Properties", {})}

    @staticmethod
    def _definition(api_properties: Mapping[str, Any], resolver: Resolver) -> Mapping[str, Any]:
        """The API's DefinitionBody with its conditions resolved (empty when it has none)."""
        body = resolver.resolve(api_properties.get("DefinitionBody") or {})
        return body if isinstance(body, Mapping) else {}

    def _authorizer(
        self, api_properties: Mapping[str, Any], name: str | None, resolver: Resolver
    ) -> JwtAuthorizerSpec | LambdaAuthorizerSpec | None:
        if name is None or name == "NONE":
            return None
        schemes = self._definition(api_properties, resolver).get("components", {}).get("securitySchemes", {})
        if name in schemes:
            return self._scheme_authorizer(name, schemes[name])
        authorizer = api_properties.get("Auth", {}).get("Authorizers", {}).get(name)
        if authorizer is None or "JwtConfiguration" not in authorizer:
            raise TemplateError(f"authorizer {name}: only JWT authorizers can run locally")
        config = resolver.resolve(authorizer["JwtConfiguration"])
        audience = config.get("audience", [])
        source = str(authorizer.get("IdentitySource", "$request.header.Authorization"))
        if not source.startswith("$request.header."):
            raise TemplateError(f"authorizer {name}: only a header IdentitySource can run locally")
        return JwtAuthorizerSpec(
            name=name,
            issuer=str(config.get("issuer", "")),
            audiences=tuple(audience if isinstance(audience, list) else [audience]),
            header=source.removeprefix("$request.header.").lower(),
        )

    def _scheme_authorizer(
        self, name: str, scheme: Mapping[str, Any]
    ) -> JwtAuthorizerSpec | LambdaAuthorizerSpec:
        """An authorizer written as an OpenAPI security scheme (x-amazon-apigateway-authorizer), resolved."""
        authorizer = scheme.get("x-amazon-apigateway-authorizer", {})
        kind = str(authorizer.get("type", "")).lower()
        sources = authorizer.get("identitySource", "$request.header.Authorization")
        source = str(sources[0] if isinstance(sources, list) and sources else sources)
        if not source.startswith("$request.header."):
            raise TemplateError(f"authorizer {name}: only a header identitySource can run locally")
        header = source.removeprefix("$request.header.").lower()
        if kind == "jwt":
            config = authorizer.get("jwtConfiguration", {})
            audience = config.get("audience", [])
            return JwtAuthorizerSpec(
                name=name,
                issuer=str(config.get("issuer", "")),
                audiences=tuple(audience if isinstance(audience, list) else [audience]),
                header=header,
            )
        # A Lambda authorizer's URI ends with .../functions/<function ARN>/invocations.
        match = re.search(
            r"/functions/[^/]*:([A-Za-z0-9]+)/invocations$", str(authorizer.get("authorizerUri", ""))
        )
        function_id = match.group(1) if match else ""
        if kind != "request" or function_id not in self.resources:
            raise TemplateError(
                f"authorizer {name}: only JWT authorizers and this template's Lambda authorizers run locally"
            )
        return LambdaAuthorizerSpec(
            name=name,
            function_id=function_id,
            header=header,
            ttl_seconds=int(authorizer.get("authorizerResultTtlInSeconds", 300)),
            payload_format_version=str(authorizer.get("authorizerPayloadFormatVersion", "2.0")),
            simple_responses=bool(authorizer.get("enableSimpleResponses", False)),
        )


def _operation(definition: Mapping[str, Any], method: str, path: str) -> Mapping[str, Any]:
    """The operation for `method` and `path` in an OpenAPI document (empty when it has none)."""
    methods = definition.get("paths", {}).get(path) or {}
    key = "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()
    operation = methods.get(key) or {}
    return operation if isinstance(operation, Mapping) else {}
