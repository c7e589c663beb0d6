"""Where the local stack lives and which ports it uses, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# Values API Gateway and Lambda would supply in an account; fixed so local events look real.
LOCAL_ACCOUNT_ID = "123456789012"
LOCAL_API_ID = "localapi"
LOCAL_AUDIENCE = "social-sync-local"
ISSUER_PATH = "/local-issuer"
# Parameters of the API itself (not a function's variable) that `make run` and `make token` take from
# the environment, as they take the functions' variables: e.g. AUTH_MODE=shared-secret make run.
API_PARAMETER_VARIABLES = {
    "AuthMode": "AUTH_MODE",
    "CorsAllowOrigins": "CORS_ALLOW_ORIGINS",
    "UpstreamApiUrl": "UPSTREAM_API_URL",
    "AuthorizerCacheSeconds": "AUTHORIZER_CACHE_SECONDS",
}


@dataclass(frozen=True)
class LocalSettings:
    """Everything the local commands need to agree on: ports, folders, region and issuer."""

    port: int
    dynamodb_port: int
    state_dir: Path
    region: str
    template_path: Path = REPO_ROOT / "template.yaml"

    @property
    def api_url(self) -> str:
        """Base URL of the local HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def issuer_url(self) -> str:
        """The `iss` the local issuer signs and the local authorizer requires."""
        return f"{self.api_url}{ISSUER_PATH}"

    @property
    def dynamodb_endpoint(self) -> str:
        """Endpoint of DynamoDB Local, handed to the functions as AWS_ENDPOINT_URL_DYNAMODB."""
        return f"http://127.0.0.1:{self.dynamodb_port}"

    @property
    def dynamodb_data_dir(self) -> Path:
        """Where DynamoDB Local keeps its database file, so data outlives a run."""
        return self.state_dir / "dynamodb"

    @property
    def issuer_dir(self) -> Path:
        """Where the local issuer keeps its signing key."""
        return self.state_dir / "issuer"


def load_settings(
    port: int | None = None, dynamodb_port: int | None = None, state_dir: Path | None = None
) -> LocalSettings:
    """Settings from explicit values, else PORT / DYNAMODB_PORT / LOCALRUN_STATE_DIR, else defaults."""
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if port is None:
        port = int(os.environ.get("PORT", "3000"))
    if dynamodb_port is None:
        dynamodb_port = int(os.environ.get("DYNAMODB_PORT", "8000"))
    return LocalSettings(
        port=port,
        dynamodb_port=dynamodb_port,
        state_dir=(state_dir or Path(os.environ.get("LOCALRUN_STATE_DIR", REPO_ROOT / ".local"))).resolve(),
        region=region,
    )
