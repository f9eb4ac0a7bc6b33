"""The ``csdp deploy`` commands: up, down and status of the compose stack.

Only argparse is imported here; the deploy modules load inside each command,
so the client install never needs the server dependencies for ``csdp --help``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from csdp.deploy.defaults import DEFAULT_PROJECT, DEFAULT_STATE_DIR

OK = 0
UNHEALTHY = 1


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def add_deploy_commands(commands: Any) -> None:
    """Add ``csdp deploy up|down|status`` to the top-level subparsers."""
    deploy = commands.add_parser("deploy", help="server: run the platform as a docker-compose stack")
    actions = deploy.add_subparsers(dest="deploy_action", metavar="ACTION", required=True)

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dir", type=Path, default=Path(os.environ.get("CSDP_DEPLOY_DIR", DEFAULT_STATE_DIR)),
            help=f"folder of the settings file and admin token (default CSDP_DEPLOY_DIR or {DEFAULT_STATE_DIR})",
        )
        parser.add_argument(
            "--project", default=os.environ.get("CSDP_DEPLOY_PROJECT", DEFAULT_PROJECT),
            help=f"compose project name (default CSDP_DEPLOY_PROJECT or {DEFAULT_PROJECT})",
        )
        parser.add_argument("--source", type=Path, help="csdp source tree with deploy/ (default: this installation's)")

    up = actions.add_parser("up", help="build what is missing, start the stack, wait until healthy, print the admin token")
    common(up)
    up.add_argument("--api", type=_positive, default=1, metavar="N", help="API replicas (default 1)")
    up.add_argument("--workers", type=_positive, default=1, metavar="N", help="Celery worker containers (default 1)")
    up.add_argument("--http-port", type=int, help="host port of nginx (default CSDP_DEPLOY_HTTP_PORT or 8080)")
    up.add_argument("--flower-port", type=int, help="host port of Flower (default CSDP_DEPLOY_FLOWER_PORT or 5555)")
    up.add_argument("--admin", default="admin", metavar="NAME", help="admin to add when none exists (default admin)")
    up.add_argument("--skip-service-images", action="store_true", help="do not build the service images")
    up.add_argument("--force-build", action="store_true", help="rebuild every image without the layer cache")
    up.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for healthy services (default 300)")
    up.set_defaults(handler=_up, needs_api=False)

    down = actions.add_parser("down", help="stop and remove the stack; volumes stay unless --volumes")
    common(down)
    down.add_argument("--volumes", action="store_true", help="also remove the broker, Redis and staging volumes")
    down.set_defaults(handler=_down, needs_api=False)

    status = actions.add_parser("status", help="show each container of the stack with its health")
    common(status)
    status.set_defaults(handler=_status, needs_api=False)


def _up(ctx: Any, args: argparse.Namespace) -> int:
    from csdp.deploy.stack import UpOptions, up

    result = up(
        UpOptions(
            state_dir=args.dir, project=args.project, api_replicas=args.api, workers=args.workers,
            http_port=args.http_port, flower_port=args.flower_port, admin_name=args.admin, source=args.source,
            build_service_images=not args.skip_service_images, force_build=args.force_build,
            health_timeout=args.timeout,
        ),
        _progress,
    )
    print(f"csdp is up at {result.url} (Flower: {result.flower_url}, settings: {result.env_file})")
    if result.admin_token:
        state = "added" if result.admin_created else "saved"
        print(f"admin {result.admin_name} ({state}); token: {result.admin_token}")
        print(f"use it with: export CSDP_URL={result.url} CSDP_TOKEN={result.admin_token}")
    else:
        print(
            f"an admin ({result.admin_name}) exists but its token is not saved in {args.dir}; "
            f"rotate it to get a new one"
        )
    return OK


def _down(ctx: Any, args: argparse.Namespace) -> int:
    from csdp.deploy.stack import down

    down(args.dir, args.project, volumes=args.volumes, source=args.source)
    kept = "removed" if args.volumes else "kept (remove them with --volumes)"
    print(f"stack {args.project} is down; volumes {kept}; service containers and the service network are left as they are")
    return OK


def _status(ctx: Any, args: argparse.Namespace) -> int:
    from csdp.deploy.stack import status

    containers = status(args.dir, args.project, source=args.source)
    if not containers:
        print(f"stack {args.project} has no containers; start it with csdp deploy up")
        return UNHEALTHY
    for item in containers:
        print(f"{item.service:10} {item.name:32} {item.status:10} {item.health or '-'}")
    return OK if all(item.health == "healthy" for item in containers) else UNHEALTHY
