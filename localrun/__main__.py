"""Command line: `python -m localrun run | token | invoke` (the Makefile's run, token and invoke)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localrun.dynamodb import DynamoDBLocalError
from localrun.invoke import invoke
from localrun.issuer import LocalIssuer
from localrun.parameters import accepts_app_tokens
from localrun.settings import LOCAL_AUDIENCE, load_settings
from localrun.shared_secret import APP_TOKEN_TTL_SECONDS, local_secret, mint_app_token
from localrun.stack import run
from localrun.template import SamTemplate, TemplateError


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m localrun", description=__doc__)
    parser.add_argument("--port", type=int, help="local API port (default: $PORT or 3000)")
    parser.add_argument(
        "--dynamodb-port", type=int, help="DynamoDB Local port (default: $DYNAMODB_PORT or 8000)"
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where data and the issuer key live (default: $LOCALRUN_STATE_DIR or .local)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start DynamoDB Local and serve every route of template.yaml")
    token = commands.add_parser("token", help="print a bearer token the local API accepts")
    token.add_argument("--sub", required=True, help="the user the token is for (its sub claim)")
    token.add_argument(
        "--ttl",
        type=int,
        help="seconds the token stays valid (default 3600; the app's 3 days in shared-secret mode)",
    )
    invoke_parser = commands.add_parser("invoke", help="run one function's handler with an event file")
    invoke_parser.add_argument("function", help="the function's logical id in template.yaml")
    invoke_parser.add_argument("event", type=Path, help="an event file, e.g. events/get_profile.json")
    args = parser.parse_args(argv)

    settings = load_settings(args.port, args.dynamodb_port, args.state_dir)
    try:
        if args.command == "run":
            run(settings)
        elif args.command == "token":
            if not args.sub.strip():
                parser.error("--sub must name a user")
            if accepts_app_tokens(SamTemplate(settings.template_path), settings):
                secret = local_secret(settings.state_dir)
                print(mint_app_token(secret, args.sub, args.ttl or APP_TOKEN_TTL_SECONDS))
            else:
                issuer = LocalIssuer.load_or_create(settings.issuer_dir, settings.issuer_url, LOCAL_AUDIENCE)
                print(issuer.mint(args.sub, args.ttl or 3600))
        else:
            return invoke(settings, args.function, args.event)
    except (TemplateError, DynamoDBLocalError, OSError) as error:
        print(f"localrun: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
