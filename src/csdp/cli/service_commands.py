"""Run ``csdp <service> <action>``: the common actions and the service's own actions."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from csdp.cli import exit_codes
from csdp.cli.containers import resolve_container
from csdp.cli.context import Context
from csdp.cli.output import Spinner, print_containers, print_json
from csdp.cli.parameters import parse_assignments, read_parameter_files
from csdp.cli.service_parser import action_names, build_service_parser
from csdp.errors import InvalidInput

# Sends the request of a job and returns the job id.
Submit = Callable[[], str]


def run_service_command(ctx: Context, name: str, argv: list[str]) -> int:
    service = ctx.service(name)
    # A known action gets a parser of that action only; anything else (help,
    # a typo) gets the full parser, whose messages list every action.
    only = argv[0] if argv and argv[0] in action_names(service) else None
    args = build_service_parser(service, only).parse_args(argv)
    if getattr(args, "custom_action", None) is not None:
        return _run_custom_action(ctx, service, args)
    handler = HANDLERS[args.action]
    return handler(ctx, service, args)


def run_job(ctx: Context, args: argparse.Namespace, label: str, submit: Submit) -> dict[str, Any] | None:
    """Submit a job and return its finished record, or None after printing the job id with ``--no-wait``."""
    job_id = submit()
    if args.no_wait:
        if args.json:
            print_json({"job_id": job_id})
        else:
            print(job_id)
        return None
    try:
        with Spinner(label) as spinner:
            return ctx.client.wait_for_job(job_id, timeout=args.timeout, on_update=spinner.update)
    except KeyboardInterrupt:
        print(f"csdp: stopped waiting, but job {job_id} goes on; csdp jobs {job_id} --wait follows it", file=sys.stderr)
        raise


def _show(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    name = service["name"]
    containers = ctx.client.containers(name, all_users=args.all_users)
    if args.json:
        print_json(containers)
    else:
        print_containers(containers, empty=f"you have no {name} containers; start some with csdp {name} start")
    return exit_codes.OK


def _start(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    name = service["name"]
    parameters = parse_assignments(args.param, service.get("parameters", []))

    def submit() -> str:
        return ctx.client.start(name, args.num, parameters, ttl_seconds=args.ttl, email=args.email)

    record = run_job(ctx, args, f"starting {args.num} {name}", submit)
    if record is None:
        return exit_codes.OK
    result = record.get("result") or {}
    if args.json:
        print_json(result)
    else:
        print_containers(result.get("containers", []), empty="the job started no containers")
    return exit_codes.OK


def _target_handler(verb: str, past: str) -> Callable[[Context, dict[str, Any], argparse.Namespace], int]:
    def handle(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
        name = service["name"]
        container = resolve_container(ctx.client, name, args.container)["id"] if args.container is not None else None
        method = getattr(ctx.client, verb)
        record = run_job(ctx, args, f"{verb} {name}", lambda: method(name, container))
        if record is None:
            return exit_codes.OK
        result = record.get("result") or {}
        if args.json:
            print_json(result)
        else:
            ids = result.get("containers") or []
            listed = ": " + " ".join(str(item)[:12] for item in ids) if ids else ""
            print(f"{past} {len(ids)} {name} container(s){listed}")
        return exit_codes.OK

    return handle


def _monitor(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    from csdp.cli.monitor import monitor

    return monitor(ctx, service, args)


def _files(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    from csdp.cli import file_commands

    if args.direction == "upload":
        return file_commands.upload(ctx, service, args)
    return file_commands.download(ctx, service, args)


def _exec(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise InvalidInput(f"give the command after --, such as csdp {service['name']} exec -- ls /", field="command")
    environment = dict(item.partition("=")[::2] for item in args.env or [])
    container = resolve_container(ctx.client, service["name"], args.container)

    if args.json:
        response = ctx.client.exec(
            container["id"], command, timeout_seconds=args.timeout, workdir=args.workdir, environment=environment
        )
        print_json(response)
        return exit_codes.TIMEOUT if response.get("timed_out") else exit_codes.OK

    exit_code = None
    for event in ctx.client.exec_stream(
        container["id"], command, timeout_seconds=args.timeout, workdir=args.workdir, environment=environment
    ):
        if event.get("event") == "exit":
            if event.get("timed_out"):
                print(f"csdp: the command timed out after {args.timeout or 'the default'} s", file=sys.stderr)
                return exit_codes.TIMEOUT
            exit_code = event.get("exit_code")
            continue
        stream = sys.stderr if event.get("stream") == "stderr" else sys.stdout
        stream.write(event.get("data", ""))
        stream.flush()
    if exit_code is None:
        print("csdp: the exec stream ended without an exit code", file=sys.stderr)
        return exit_codes.UNREACHABLE
    return int(exit_code)


def _run_custom_action(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    name = service["name"]
    action = args.custom_action
    parameters = parse_assignments(args.param, action.get("parameters", []))
    parameters.update(read_parameter_files(args.param_file, action.get("parameters", [])))
    container = resolve_container(ctx.client, name, args.container)["id"] if args.container is not None else None

    def submit() -> str:
        return ctx.client.action(name, action["name"], parameters, container=container, email=args.email)

    record = run_job(ctx, args, f"{action['name']} on {name}", submit)
    if record is None:
        return exit_codes.OK
    result = record.get("result") or {}
    outputs = result.get("outputs", [])
    if args.json:
        print_json(result)
    else:
        for output in outputs:
            if len(outputs) > 1:
                print(f"== {str(output.get('container'))[:12]} (exit code {output.get('exit_code')})")
            text = output.get("output")
            if not isinstance(text, str):
                import json

                text = json.dumps(text, indent=2, default=str)
            sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    failed = any(output.get("exit_code") not in (0, None) for output in outputs)
    return exit_codes.JOB_FAILED if failed else exit_codes.OK


def _schedule(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    from csdp.cli.output import SCHEDULE_COLUMNS, table

    name = service["name"]
    action = next(item for item in service.get("actions", []) if item["name"] == args.scheduled_action)
    parameters = parse_assignments(args.param, action.get("parameters", []))
    parameters.update(read_parameter_files(args.param_file, action.get("parameters", [])))
    schedule = ctx.client.schedule(name, args.scheduled_action, parameters, at=args.at, cron=args.cron, email=args.email)
    if args.json:
        print_json(schedule)
    else:
        sys.stdout.write(table([schedule], SCHEDULE_COLUMNS))
    return exit_codes.OK


HANDLERS = {
    "show": _show,
    "start": _start,
    "stop": _target_handler("stop", "stopped"),
    "restart": _target_handler("restart", "restarted"),
    "delete": _target_handler("delete", "deleted"),
    "monitor": _monitor,
    "files": _files,
    "exec": _exec,
    "schedule": _schedule,
}
