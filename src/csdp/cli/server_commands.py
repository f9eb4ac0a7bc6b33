"""Operator commands that run on the server host: engine, images, admin, server.

They import server modules inside each command, so the client install
(``pip install csdp``) never loads them; a missing server extra is reported
with the install command.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from typing import Any, Iterator

from csdp.cli import exit_codes
from csdp.errors import ImageBuildError, InvalidInput

SERVER_EXTRA_HINT = "pip install 'csdp[server]'"
# CSI sequences such as "\x1b[31m", character set choices such as "\x1b(B", and other two-byte escapes.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[@-Z\\-_]")


class ServerExtraMissing(InvalidInput):
    """A server command ran where the server dependencies are not installed."""

    code = "server_extra_missing"


@contextlib.contextmanager
def server_import(command: str) -> Iterator[None]:
    """Turn a missing server module into ServerExtraMissing that names ``command`` and the install command."""
    try:
        yield
    except ModuleNotFoundError as exc:
        raise ServerExtraMissing(
            f"csdp {command} runs on the server and needs module {exc.name!r}: install it with {SERVER_EXTRA_HINT}"
        ) from None


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (colours, cursor moves) from ``text``."""
    return ANSI_ESCAPE.sub("", text)


def add_server_commands(commands: Any) -> None:
    """Add the parsers of the server commands to the top-level subparsers."""
    engine = commands.add_parser("engine", help="server: check or start the Docker engine")
    engine_actions = engine.add_subparsers(dest="engine_action", metavar="ACTION", required=True)
    engine_actions.add_parser("up", help="start dockerd here if no engine responds (Debian, root)").set_defaults(
        handler=_engine_up, needs_api=False
    )

    images = commands.add_parser("images", help="server: build service images")
    image_actions = images.add_subparsers(dest="images_action", metavar="ACTION", required=True)
    build = image_actions.add_parser("build", help="build the base image and the service images")
    build.add_argument("services", nargs="*", metavar="SERVICE", help="services to build (default: all)")
    build.add_argument("--force", action="store_true", help="rebuild unchanged images without the layer cache")
    build.set_defaults(handler=_images_build, needs_api=False)
    refresh = image_actions.add_parser(
        "refresh", help="rebuild images whose version_package has a newer version in Debian, keeping the old one"
    )
    refresh.add_argument("services", nargs="*", metavar="SERVICE", help="services to refresh (default: all with a version_package)")
    refresh.set_defaults(handler=_images_refresh, needs_api=False)

    admin = commands.add_parser("admin", help="server: manage users in the platform database")
    admin_actions = admin.add_subparsers(dest="admin_action", metavar="ACTION", required=True)
    user = admin_actions.add_parser("user", help="manage users")
    user_actions = user.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    add = user_actions.add_parser("add", help="add a user and print its token")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--admin", action="store_true", help="the user may act on every user's containers")
    add.add_argument("--json", action="store_true", help="print the user and token as JSON")
    add.set_defaults(handler=_user_add, needs_api=False)
    listing = user_actions.add_parser("list", help="list the users and their limits")
    listing.add_argument("--json", action="store_true", help="print the users as JSON")
    listing.set_defaults(handler=_user_list, needs_api=False)
    remove = user_actions.add_parser("remove", help="remove a user; its token stops working at once")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=_user_remove, needs_api=False)
    rotate = user_actions.add_parser(
        "rotate-token", help="give a user a new token and print it; the old token stops working"
    )
    rotate.add_argument("name", metavar="NAME")
    rotate.add_argument("--json", action="store_true", help="print the user name and token as JSON")
    rotate.set_defaults(handler=_user_rotate_token, needs_api=False)

    server = commands.add_parser("server", help="server: run the API or a worker")
    server_actions = server.add_subparsers(dest="server_action", metavar="ACTION", required=True)
    api = server_actions.add_parser("api", help="run the REST API with uvicorn")
    api.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    api.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    api.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    api.set_defaults(handler=_server_api, needs_api=False)
    worker = server_actions.add_parser("worker", help="run a Celery worker for the realtime and scheduled queues")
    worker.add_argument("--concurrency", type=int, help="threads (default CSDP_WORKER_CONCURRENCY)")
    worker.add_argument("--name", help="node name, unique on the broker, such as worker2@%%h (default celery@HOSTNAME)")
    worker.add_argument("--beat", action="store_true", help="also run the housekeeping schedule in this process")
    worker.add_argument("--log-level", default="INFO", help="Celery log level (default INFO)")
    worker.set_defaults(handler=_server_worker, needs_api=False)
    beat = server_actions.add_parser("beat", help="run the housekeeping schedule; run exactly one per deployment")
    beat.add_argument("--schedule", help="file that keeps the last run times (default celerybeat-schedule here)")
    beat.add_argument("--pidfile", help="file to write the process id to, for health checks")
    beat.add_argument("--log-level", default="INFO", help="Celery log level (default INFO)")
    beat.set_defaults(handler=_server_beat, needs_api=False)

    from csdp.deploy.commands import add_deploy_commands

    add_deploy_commands(commands)


def _engine_up(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("engine up"):
        from csdp.engine import ensure_engine
    version = ensure_engine(_progress)
    print(f"Docker engine {version} is running")
    return exit_codes.OK


def _images_build(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("images build"):
        from csdp.catalog import load_catalog
        from csdp.runtime.images import build_service_images, ensure_base_image
        from csdp.settings import get_settings
    settings = get_settings()
    catalog = load_catalog(settings.services_path)
    try:
        ensure_base_image(settings, _progress)
        results = build_service_images(catalog, settings, args.services or None, args.force, _progress)
    except ImageBuildError as exc:
        # A failed build is a failed operation, not an unreachable engine; the
        # build output it quotes may hold terminal colour codes.
        print(f"csdp: error: {strip_ansi(exc.message)}", file=sys.stderr)
        return exit_codes.JOB_FAILED
    for result in results:
        print(_describe_build(result))
    return exit_codes.OK


def _images_refresh(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("images refresh"):
        from csdp.catalog import load_catalog
        from csdp.runtime.image_refresh import FAILED, refresh_images
        from csdp.settings import get_settings
    settings = get_settings()
    catalog = load_catalog(settings.services_path)
    results = refresh_images(catalog, settings, args.services or None, _progress)
    for result in results:
        print(_describe_refresh(result))
    return exit_codes.JOB_FAILED if any(result.action == FAILED for result in results) else exit_codes.OK


def _describe_refresh(result: Any) -> str:
    line = f"{result.service}: {result.package} installed {result.installed or '-'}, candidate {result.candidate or '-'}: {result.action}"
    if result.error:
        return f"{line}: {strip_ansi(result.error)}"
    if result.previous_tag and result.new_tag and result.previous_tag != result.new_tag:
        return f"{line}, kept {result.previous_tag}, built {result.new_tag}"
    if result.new_tag:
        return f"{line}, tagged {result.new_tag}"
    return line


def _describe_build(result: Any) -> str:
    # Read BuildResult by attribute so this module does not import the runtime at import time.
    service, image = getattr(result, "service", "?"), getattr(result, "image", "?")
    outcome = "built" if getattr(result, "built", False) else f"skipped ({getattr(result, 'skipped', 'unchanged')})"
    return f"{service:12} {image:28} {outcome}, {getattr(result, 'seconds', 0.0):.1f} s"


def _user_add(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("admin user add"):
        from csdp.workflows.users import add_user
    user, token = add_user(args.name, args.admin)
    if args.json:
        from csdp.cli.output import print_json

        print_json({**user.model_dump(mode="json"), "token": token})
    else:
        print(
            f"added user {user.name} (admin: {'yes' if user.admin else 'no'}); token, shown only once:", file=sys.stderr
        )
        print(token)
    return exit_codes.OK


def _user_list(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("admin user list"):
        from csdp.workflows.users import list_users
    users = [user.to_wire().model_dump(mode="json") for user in list_users()]
    if args.json:
        from csdp.cli.output import print_json

        print_json(users)
    elif users:
        from csdp.cli.output import table

        columns = (
            ("NAME", "name"),
            ("ADMIN", "admin"),
            ("MAX CONTAINERS", "max_containers"),
            ("MAX REPLICAS", "max_replicas_per_request"),
        )
        rows = [dict(user, admin="yes" if user["admin"] else "no") for user in users]
        sys.stdout.write(table(rows, columns))
    else:
        print("there are no users; add one with csdp admin user add NAME")
    return exit_codes.OK


def _user_remove(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("admin user remove"):
        from csdp.runtime import get_runtime
        from csdp.workflows.submit import submit_delete
        from csdp.workflows.user_removal import remove_user_and_containers
    job = remove_user_and_containers(args.name, get_runtime(), submit_delete)
    if job is None:
        print(f"removed user {args.name}; it owned no containers")
    else:
        print(f"removed user {args.name}; job {job.id} deletes its containers")
    return exit_codes.OK


def _user_rotate_token(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("admin user rotate-token"):
        from csdp.workflows.users import rotate_token
    token = rotate_token(args.name)
    if args.json:
        from csdp.cli.output import print_json

        print_json({"name": args.name, "token": token})
    else:
        print(f"new token of user {args.name}, shown only once; the old token no longer works:", file=sys.stderr)
        print(token)
    return exit_codes.OK


def _server_api(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("server api"):
        import uvicorn

        import csdp.api.app  # noqa: F401  (fail here, with the hint, rather than inside uvicorn)
    uvicorn.run("csdp.api.app:create_app", factory=True, host=args.host, port=args.port, log_level=args.log_level)
    return exit_codes.OK


def _server_beat(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("server beat"):
        from csdp.workflows.app import app
    argv = ["beat", "--loglevel", args.log_level]
    if args.schedule:
        argv += ["--schedule", args.schedule]
    if args.pidfile:
        argv += ["--pidfile", args.pidfile]
    app.start(argv)
    return exit_codes.OK


def _server_worker(ctx: Any, args: argparse.Namespace) -> int:
    with server_import("server worker"):
        from csdp.settings import get_settings
        from csdp.workflows.app import REALTIME, SCHEDULED, app, queue_name
    settings = get_settings()
    concurrency = args.concurrency or settings.worker_concurrency
    queues = f"{queue_name(REALTIME, settings)},{queue_name(SCHEDULED, settings)}"
    argv = ["worker", "-P", "threads", "-c", str(concurrency), "-Q", queues, "--loglevel", args.log_level]
    if args.name:
        argv += ["--hostname", args.name]
    if args.beat:
        argv.append("--beat")
    app.worker_main(argv)
    return exit_codes.OK
