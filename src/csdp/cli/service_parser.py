"""Build the argparse parser of ``csdp <service>`` from the service's catalog entry."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from csdp.cli.exit_codes import DESCRIPTION as EXIT_CODES
from csdp.cli.parameters import describe

COMMON_ACTIONS = ("show", "start", "stop", "restart", "delete", "monitor", "files", "exec", "schedule")


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


def _container_option(
    parser: argparse.ArgumentParser, what: str, omitted: str = "needed when you have several"
) -> None:
    parser.add_argument("--container", metavar="ID", help=f"{what}: an id, an id prefix or a name; {omitted}")


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
        _container_option(target, f"the container to {verb}", f"all of your {name} containers when omitted")

    return add


def _add_monitor(commands: Any, service: dict[str, Any], parents: Parents) -> None:
    name = service["name"]
    monitor = commands.add_parser(
        "monitor",
        parents=[parents.output],
        help=f"print the log of one or all of your {name} containers",
        description=(
            f"Print the log of a {name} container. Without --container, print the logs of all of your {name}\n"
            "containers, one after the other, each line prefixed with the container name. With --follow,\n"
            "follow them all at once until every container stops or you press Ctrl-C. With --json, each\n"
            "entry of several containers has a \"container\" key."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _container_option(monitor, "the container to read", f"all of your {name} containers when omitted")
    monitor.add_argument("-f", "--follow", action="store_true", help="keep printing until the containers stop")
    monitor.add_argument("--clear", action="store_true", help="clear the logs first")
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
    _container_option(custom, "the container to run in", f"all of your {service['name']} containers when omitted")
    custom.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="set an action parameter")
    _param_file_option(custom)
    custom.add_argument("--email", metavar="ADDRESS", help="also send the job result to this e-mail address")
    custom.set_defaults(custom_action=action)


def _param_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-P", "--param-file", action="append", metavar="NAME=FILE",
        help="set an action parameter to the text of a local file, such as -P script=test_login.py",
    )


def _add_schedule(commands: Any, service: dict[str, Any], parents: Parents) -> None:
    actions = service.get("actions", [])
    if not actions:
        return

    name = service["name"]
    names = [action["name"] for action in actions]
    lines = "\n\n".join(
        f"{action['name']} parameters (-p NAME=VALUE):\n{_parameter_lines(action.get('parameters', []))}" for action in actions
    )
    schedule = commands.add_parser(
        "schedule",
        parents=[parents.output],
        help=f"run an action of {name} later, once or on a cron expression, with the result by e-mail",
        description=(
            f"Run an action later on the {name} containers you have at that time. The result of each run\n"
            "goes to --email and is in 'csdp jobs'. List schedules with 'csdp schedules' and cancel one\n"
            "with 'csdp schedules cancel ID'."
        ),
        epilog=lines,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )

    when = schedule.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", metavar="TIME", help="run once at TIME, ISO 8601 with a timezone, such as 2026-12-05T09:00:00+01:00")
    when.add_argument("--cron", metavar="EXPR", help="run on every match of EXPR in UTC: 'minute hour day-of-month month day-of-week', such as '0 2 * * *'")

    schedule.add_argument(
        "--action", dest="scheduled_action", choices=names, default=names[0] if len(names) == 1 else None,
        required=len(names) > 1,
        help=f"the action to run: {', '.join(names)}" + (f" (default {names[0]})" if len(names) == 1 else ""),
    )
    schedule.add_argument("-p", "--param", action="append", metavar="NAME=VALUE", help="set an action parameter")
    _param_file_option(schedule)
    schedule.add_argument("--email", metavar="ADDRESS", help="send the result of each run to this e-mail address")


BUILDERS = {
    "show": _add_show,
    "start": _add_start,
    "stop": _target_builder("stop"),
    "restart": _target_builder("restart"),
    "delete": _target_builder("delete"),
    "monitor": _add_monitor,
    "files": _add_files,
    "exec": _add_exec,
    "schedule": _add_schedule,
}


def build_service_parser(service: dict[str, Any], only: str | None = None) -> argparse.ArgumentParser:
    """Return the parser of ``csdp <service> <action> [options]``.

    With ``only``, the parser contains just that action: building every action's
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
    """Return the actions of ``csdp <service>``: ``schedule`` exists only for a service with actions to schedule."""
    actions = [action["name"] for action in service.get("actions", [])]
    common = [name for name in COMMON_ACTIONS if name != "schedule" or actions]
    return [*common, *actions]
