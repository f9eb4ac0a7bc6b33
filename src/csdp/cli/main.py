"""Entry point of ``csdp``: ``csdp <service> <action> [options]`` and the general and server commands.

Only the parser of the named service is built, from the cached catalog, and
server modules load inside their commands, which keeps ``csdp <service> show``
to a few standard-library imports and one request.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from csdp.cli import exit_codes
from csdp.cli.context import Context
from csdp.errors import CsdpError

log = logging.getLogger(__name__)

GENERAL_COMMANDS = ("login", "services", "jobs", "schedules", "all", "completion")
SERVER_COMMANDS = ("engine", "images", "admin", "server", "deploy")
USAGE = "csdp [--debug] SERVICE ACTION [options] | csdp COMMAND [options]"


def main(argv: list[str] | None = None) -> int:
    """Run one command and return its exit code (see ``csdp --help``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = bool(argv) and argv[0] == "--debug"
    if debug:
        argv = argv[1:]
    _configure_logging(debug)
    ctx = Context()
    try:
        return _dispatch(ctx, argv)
    except CsdpError as exc:
        log.debug("command failed", exc_info=True)
        _print_error(exc)
        if _wants_json(argv):
            _print_error_json(exc)
        return exit_codes.exit_code_for(exc)
    except KeyboardInterrupt:
        print("csdp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (csdp ... | head); that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_codes.OK


def _dispatch(ctx: Context, argv: list[str]) -> int:
    if argv and argv[0] == "__complete":
        return _complete(ctx, argv[1:])
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser(ctx, list_services=True).print_help()
        return exit_codes.OK if argv else exit_codes.USAGE
    first = argv[0]
    if first in GENERAL_COMMANDS or first in SERVER_COMMANDS or first.startswith("-"):
        args = _top_parser(ctx, list_services=False).parse_args(argv)
        return args.handler(ctx, args)

    from csdp.cli.service_commands import run_service_command

    return run_service_command(ctx, first, argv[1:])


def _top_parser(ctx: Context, *, list_services: bool) -> argparse.ArgumentParser:
    from csdp.cli.general_commands import add_general_commands
    from csdp.cli.server_commands import add_server_commands

    parser = argparse.ArgumentParser(
        prog="csdp",
        usage=USAGE,
        description="Start and use disposable test services (csdp SERVICE --help lists a service's actions).",
        epilog=(_services_help(ctx) if list_services else "") + exit_codes.DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=_version())
    # Without prog, subcommand usage lines would start with the whole USAGE text.
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", prog="csdp")
    add_general_commands(commands)
    add_server_commands(commands)
    return parser


def _services_help(ctx: Context) -> str:
    try:
        services = ctx.catalog.services()
    except CsdpError as exc:
        return f"services: cannot list them ({exc.message})\n\n"
    lines = [f"  {item['name']:12} {item.get('summary', '')}" for item in services]
    return "services:\n" + ("\n".join(lines) or "  none") + "\n\n"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"csdp {version('csdp')}"
    except PackageNotFoundError:
        return "csdp (version unknown)"


def _complete(ctx: Context, words: list[str]) -> int:
    from csdp.cli.completion import candidates

    try:
        services = ctx.catalog.services()
    except CsdpError:
        services = []
    for word in candidates(words, services):
        print(word)
    return exit_codes.OK


def _print_error(exc: CsdpError) -> None:
    print(f"csdp: error: {exc.message}", file=sys.stderr)


def _wants_json(argv: list[str]) -> bool:
    # After "--" come the words of a command run by exec, not our options.
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def _print_error_json(exc: CsdpError) -> None:
    """Print a failed job's record, or the error body ``{"code", "message", ...}``, so --json scripts get JSON."""
    from csdp.cli.output import print_json
    from csdp.client.errors import JobFailed

    print_json(exc.record if isinstance(exc, JobFailed) else exc.to_dict())


def _configure_logging(debug: bool) -> None:
    level = (
        logging.DEBUG
        if debug
        else getattr(logging, os.environ.get("CSDP_LOG_LEVEL", "WARNING").upper(), logging.WARNING)
    )
    logging.basicConfig(level=level, format="csdp: %(levelname)s: %(name)s: %(message)s")


if __name__ == "__main__":
    sys.exit(main())
