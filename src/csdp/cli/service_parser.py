"""Build the argparse parser of ``csdp <service>`` from the service's catalog entry."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from csdp.cli.exit_codes import DESCRIPTION as EXIT_CODES
from csdp.cli.parameters import describe

COMMON_ACTIONS = ("show", "start", "stop", "restart", "delete", "monitor", "files", "exec")


class Parents:
    """Options shared by several actions, as argparse parent parsers."""

    def __init__(self) -> None:
        self.output = argparse.ArgumentParser(add_help=False)
        self.output.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")
        self.job = argparse.ArgumentParser(add_help=False)
        self.job.add_argument("--no-wait", action="store_true", help="print the job id and return without waiting")
        self.job.add_argument(
            "--timeout", type=float, default=600.0, metavar="SECONDS", help="how long to wait for the job (default 600)"
        )


def _container_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--container", metavar="ID", help=f"{what}: an id, an id prefix or a name (needed when you have several)"
    )


def _parameter_lines(parameters: list[dict[str, Any]]) -> str:
    return "\n".join(f"  {describe(parameter)}" for parameter in parameters) or "  none"


def _add_show(commands: Any, service: dict[str, Any], parents: Parents) -> None:
    show = commands.add_parser("show", parents=[parents.output], help=f"list your {service['name']} containers")
    show.add_argument("--all-users", action="store_true", help="list the containers of every user (admins only)")


def _add_start(commands: Any, service: dict[str, Any], parents: Parents) -> None:
    start = commands.add_parser(
        "start",
        parents=[parents.output, parents.job],
        help=f"start {service['name']} containers",
        epilog=f"parameters:\n{_parameter_lines(service.get('parameters', []))}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    maximum = service.get("max_replicas")
    start.add_argument(
        "-n", "--num", type=int, default=1, help=f"number of replicas (default 1, at most {maximum} per request)"
    )
    start.add_argument(
        "-p", "--param", action="append", metavar="NAME=VALUE", help="set a service parameter; repeat for several"
    )
    start.add_argument("--ttl", type=int, metavar="SECONDS", help="lifetime of the containers in seconds")
    start.add_argument("--email", metavar="ADDRESS", help="also send the job result to this e-mail address")


def _target_builder(verb: str) -> Callable[[Any, dict[str, Any], Parents], None]:
    def add(commands: Any, service: dict[str, Any], parents: Parents) -> None:
        name = service["name"]
        target = commands.add_parser(
            verb, parents=[parents.output, parents.job], help=f"{verb} one or all of your {name} containers"
        )
        _container_option(target, f"the container to {verb}; all of your {name} containers when omitted")

    return add


def _add_monitor(commands: Any, service: dict[str, Any], parents: Parents) -> None:
    monitor = commands.add_parser("monitor", parents=[parents.output], help="print the log of a container")
    _container_option(monitor, "the container to read")
    monitor.add_argument("-f", "--follow", action="store_true", help="keep printing until the container stops")
    monitor.add_argument("--clear", action="store_true", help="clear the log first")
    monitor.add_argument("--since", metavar="TIME", help="only entries after TIME (RFC 3339 or Unix seconds)")
    monitor.add_argument("--until", metavar="TIME", help="only entries before TIME (RFC 3339 or Unix seconds)")
    monitor.add_argument("--tail", type=int, metavar="N", help="only the last N lines")


def _add_files(commands: Any, service: dict[str, Any], parents: Parents) -> None:
    files = commands.add_parser("files", help="copy files into or out of a container")
    transfers = files.add_subparsers(dest="direction", metavar="DIRECTION", required=True)

    upload = transfers.add_parser(
        "upload", parents=[parents.output, parents.job], help="copy a local file into a container"
    )
    upload.add_argument("local", metavar="LOCAL", help="local file to upload")
    upload.add_argument("--to", required=True, metavar="DIR", help="existing directory in the container")
    upload.add_argument("--extract", action="store_true", help="LOCAL is a tar archive to unpack into DIR")
    _container_option(upload, "the container to copy into")

    download = transfers.add_parser("download", help="copy a file or directory out of a container")
    download.add_argument("path", metavar="PATH", help="file or directory in the container")
    download.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="local file (for a file) or directory (for a directory); - is stdout",
    )
    download.add_argument("--tar", action="store_true", help="write the tar archive as the API sends it")
    _container_option(download, "the container to copy from")


def _add_exec(commands: Any, service: dict[str, Any], parents: Parents) -> None:
    execute = commands.add_parser(
        "exec",
        parents=[parents.output],
        help="run a command in a container",
        usage=f"csdp {service['name']} exec [--container ID] [--timeout SECONDS] -- COMMAND [ARG ...]",
    )
    _container_option(execute, "the container to run in")
    execute.add_argument("--timeout", type=int, metavar="SECONDS", help="time limit of the command")
    execute.add_argument("--workdir", metavar="DIR", help="working directory of the command")
    execute.add_argument("-e", "--env", action="append", metavar="NAME=VALUE", help="set an environment variable")
    execute.add_argument("command", nargs=argparse.REMAINDER, help="program and arguments, after --")


def _add_custom(commands: Any, service: dict[str, Any], parents: Parents, action: dict[str, Any]) -> None:
    custom = commands.add_parser(
        action["name"],
        parents=[parents.output, parents.job],
        help=action.get("help", ""),
        description=action.get("help", ""),
        epilog=f"parameters (-p NAME=VALUE):\n{_parameter_lines(action.get('parameters', []))}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _container_option(custom, f"run in this container only; all of your {service['name']} containers when omitted")
    custom.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="set an action parameter")
    custom.add_argument("--email", metavar="ADDRESS", help="also send the job result to this e-mail address")
    custom.set_defaults(custom_action=action)


BUILDERS = {
    "show": _add_show,
    "start": _add_start,
    "stop": _target_builder("stop"),
    "restart": _target_builder("restart"),
    "delete": _target_builder("delete"),
    "monitor": _add_monitor,
    "files": _add_files,
    "exec": _add_exec,
}


def build_service_parser(service: dict[str, Any], only: str | None = None) -> argparse.ArgumentParser:
    """Return the parser of ``csdp <service> <action> [options]``.

    With ``only``, the parser knows just that action: building every action's
    parser is a noticeable part of a fast command such as ``show``.
    """
    name = service["name"]
    actions = service.get("actions", [])
    action_lines = "\n".join(f"  {action['name']}: {action.get('help', '')}" for action in actions) or "  none"
    parser = argparse.ArgumentParser(
        prog=f"csdp {name}",
        description=f"{service.get('summary', '')}\n\n{service.get('description', '')}".strip(),
        epilog=(
            f"start parameters (-p NAME=VALUE):\n{_parameter_lines(service.get('parameters', []))}\n\n"
            f"{name} actions:\n{action_lines}\n\n{EXIT_CODES}"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parents = Parents()
    commands = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for common, builder in BUILDERS.items():
        if only in (None, common):
            builder(commands, service, parents)
    for action in actions:
        if only in (None, action["name"]):
            _add_custom(commands, service, parents, action)
    return parser


def action_names(service: dict[str, Any]) -> list[str]:
    return [*COMMON_ACTIONS, *(action["name"] for action in service.get("actions", []))]
