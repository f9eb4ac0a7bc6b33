"""Commands that are not about one service: login, services, jobs, all, completion."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from csdp.cli import exit_codes
from csdp.cli.context import Context
from csdp.cli.output import ALL_CONTAINER_COLUMNS, JOB_COLUMNS, Spinner, print_containers, print_json, table
from csdp.errors import NotFound


def add_general_commands(commands: Any) -> None:
    """Add the parsers of the general commands to the top-level subparsers."""
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")

    login = commands.add_parser("login", help="save the API URL and token in ~/.config/csdp/config.toml")
    login.add_argument("--url", required=True, help="API URL, such as http://csdp.example:8000")
    login.add_argument("--token", required=True, help="your API token")
    login.add_argument("--amqp-url", help="broker URL for pushed results, such as amqp://user:pass@host:5672/")
    login.add_argument("--no-check", action="store_true", help="save without checking the token against the API")
    login.set_defaults(handler=_login)

    services = commands.add_parser("services", parents=[output], help="list the services you can start")
    services.set_defaults(handler=_services)

    jobs = commands.add_parser("jobs", parents=[output], help="list your recent jobs, or show one job")
    jobs.add_argument("job_id", nargs="?", metavar="ID", help="the job to show")
    jobs.add_argument("--limit", type=int, default=20, help="number of jobs to list (default 20)")
    jobs.add_argument("--wait", action="store_true", help="wait until job ID ends")
    jobs.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS", help="how long --wait waits")
    jobs.set_defaults(handler=_jobs)

    schedules = commands.add_parser(
        "schedules", parents=[output], help="list your schedules, or cancel one with 'csdp schedules cancel ID'"
    )
    schedule_actions = schedules.add_subparsers(dest="schedule_action", metavar="ACTION")
    schedule_actions.add_parser("list", parents=[output], help="list your schedules (the default)")
    cancel = schedule_actions.add_parser("cancel", help="cancel a schedule; a run that has started goes on")
    cancel.add_argument("schedule_id", metavar="ID", help="the schedule to cancel, as 'csdp schedules' lists it")
    schedules.set_defaults(handler=_schedules)

    every = commands.add_parser("all", help="act on all of your containers, of every service")
    actions = every.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", parents=[output], help="list all of your containers")
    show.add_argument("--all-users", action="store_true", help="list the containers of every user (admins only)")
    show.set_defaults(handler=_all_show)
    delete = actions.add_parser("delete", parents=[output], help="delete all of your containers")
    delete.add_argument("--no-wait", action="store_true", help="print the job id and return without waiting")
    delete.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS", help="how long to wait for the job")
    delete.set_defaults(handler=_all_delete)

    completion = commands.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(handler=_completion, needs_api=False)


def _login(ctx: Context, args: argparse.Namespace) -> int:
    from csdp.client.client import Client
    from csdp.client.config import write_config

    if not args.no_check:
        Client(args.url, args.token).services()
    path = write_config(args.url, args.token, amqp_url=args.amqp_url)
    print(f"saved the API URL and token in {path}")
    return exit_codes.OK


def _services(ctx: Context, args: argparse.Namespace) -> int:
    services = ctx.catalog.services(refresh=True)
    if args.json:
        print_json(services)
        return exit_codes.OK
    rows = [{"name": item["name"], "summary": item.get("summary", "")} for item in services]
    sys.stdout.write(table(rows, (("SERVICE", "name"), ("SUMMARY", "summary"))))
    return exit_codes.OK


def _jobs(ctx: Context, args: argparse.Namespace) -> int:
    if not args.job_id:
        jobs = ctx.client.jobs(limit=args.limit)
        if args.json:
            print_json(jobs)
        elif jobs:
            sys.stdout.write(table(jobs, JOB_COLUMNS))
        else:
            print("you have no recent jobs")
        return exit_codes.OK

    try:
        if args.wait:
            with Spinner(f"job {args.job_id}") as spinner:
                record = ctx.client.wait_for_job(args.job_id, timeout=args.timeout, on_update=spinner.update)
        else:
            record = ctx.client.job(args.job_id)
    except NotFound as exc:
        # The API's message names HTTP routes; CLI users need the command instead.
        raise NotFound(
            f"you have no job {args.job_id!r}; csdp jobs lists your recent jobs, and an id prefix needs at least "
            "8 characters and must match one job only",
            field="job_id",
        ) from exc
    if args.json:
        print_json(record)
    else:
        _print_job(record)
    return exit_codes.JOB_FAILED if record.get("state") == "failed" else exit_codes.OK


def _print_job(record: dict[str, Any]) -> None:
    from csdp.cli.output import format_cell

    print(f"{'id:':10} {record.get('id')}")
    for key in ("owner", "service", "action", "state", "created", "started", "finished"):
        print(f"{key + ':':10} {format_cell(key, record.get(key))}")
    for step in record.get("steps") or []:
        replica = f" replica {step['replica']}" if step.get("replica") is not None else ""
        print(f"  {format_cell('created', step.get('at'))}  {step.get('step')}{replica}: {step.get('state')}")
    error = record.get("error")
    if error:
        print(f"{'error:':10} {error.get('message')}")
    if record.get("result") is not None:
        print("result:")
        print_json(record["result"])


def _schedules(ctx: Context, args: argparse.Namespace) -> int:
    from csdp.cli.output import SCHEDULE_COLUMNS

    if args.schedule_action == "cancel":
        ctx.client.cancel_schedule(args.schedule_id)
        print(f"cancelled schedule {args.schedule_id}")
        return exit_codes.OK
    schedules = ctx.client.schedules()
    if getattr(args, "json", False):
        print_json(schedules)
    elif schedules:
        sys.stdout.write(table(schedules, SCHEDULE_COLUMNS))
    else:
        print("you have no schedules")
    return exit_codes.OK


def _all_show(ctx: Context, args: argparse.Namespace) -> int:
    containers = ctx.client.containers(all_users=args.all_users)
    if args.json:
        print_json(containers)
    else:
        print_containers(containers, empty="you have no containers", columns=ALL_CONTAINER_COLUMNS)
    return exit_codes.OK


def _all_delete(ctx: Context, args: argparse.Namespace) -> int:
    from csdp.cli.service_commands import run_job

    record = run_job(ctx, args, "deleting all containers", ctx.client.delete_all)
    if record is None:
        return exit_codes.OK
    result = record.get("result") or {"result": "success"}
    if args.json:
        print_json(result)
    else:
        print(f"deleted {len(result.get('containers') or [])} container(s)")
    return exit_codes.OK


def _completion(ctx: Context, args: argparse.Namespace) -> int:
    from csdp.cli.completion import script

    sys.stdout.write(script(args.shell))
    return exit_codes.OK
