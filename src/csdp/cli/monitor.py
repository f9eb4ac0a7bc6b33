"""``csdp <service> monitor``: print the log of one container, or of all of the caller's containers of a service.

With several containers each line starts with the container name, as in
``docker compose logs``. Without ``--follow`` the logs come one container after
the other. With ``--follow`` one thread reads each container's stream, and the
lines come in the order they arrive.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import sys
import threading
from typing import Any, Iterator

from csdp.cli import exit_codes
from csdp.cli.containers import resolve_container
from csdp.cli.context import Context
from csdp.client.client import Client
from csdp.errors import CsdpError, NotFound

log = logging.getLogger(__name__)

# How often the reading loop wakes up while no stream sends anything, so that
# Ctrl-C is handled promptly.
POLL_SECONDS = 0.5

Entry = tuple[dict[str, Any], dict[str, Any]]


def monitor(ctx: Context, service: dict[str, Any], args: argparse.Namespace) -> int:
    name = service["name"]
    containers = _targets(ctx.client, name, args.container)

    if args.clear:
        for container in containers:
            ctx.client.clear_logs(container["id"])
        if not args.follow:
            cleared = ", ".join(container["name"] for container in containers)
            print(f"cleared the log of {cleared}", file=sys.stderr)
            return exit_codes.OK

    query = {"follow": args.follow, "since": args.since, "until": args.until, "tail": args.tail}
    if args.follow and len(containers) > 1:
        entries, failures = _follow_all(ctx.client, containers, query)
    else:
        entries, failures = _one_after_another(ctx.client, containers, query), []

    width = max(len(container["name"]) for container in containers) if len(containers) > 1 else 0
    for container, entry in entries:
        _print_entry(container, entry, as_json=args.json, width=width)

    if failures:
        return exit_codes.exit_code_for(failures[0])
    return exit_codes.OK


def _targets(client: Client, service: str, reference: str | None) -> list[dict[str, Any]]:
    if reference is not None:
        return [resolve_container(client, service, reference)]
    containers = client.show(service)
    if not containers:
        raise NotFound(f"you have no {service} containers; start one with csdp {service} start", field="container")
    return containers


def _one_after_another(client: Client, containers: list[dict[str, Any]], query: dict[str, Any]) -> Iterator[Entry]:
    for container in containers:
        for entry in client.logs(container["id"], **query):
            yield container, entry


def _follow_all(
    client: Client, containers: list[dict[str, Any]], query: dict[str, Any]
) -> tuple[Iterator[Entry], list[CsdpError]]:
    """Follow every container's log in its own thread; the iterator ends when every stream has ended.

    A stream that fails is reported on stderr and its error is appended to the
    returned list, while the other streams go on.
    """
    received: queue.Queue[Entry | None] = queue.Queue()
    failures: list[CsdpError] = []

    def read(container: dict[str, Any]) -> None:
        try:
            for entry in client.logs(container["id"], **query):
                received.put((container, entry))
        except CsdpError as exc:
            log.info("the log stream of container %s failed: %s", container["id"][:12], exc.message)
            print(f"csdp: error: {container['name']}: {exc.message}", file=sys.stderr)
            failures.append(exc)
        finally:
            received.put(None)

    # Daemon threads, because Ctrl-C ends the command while streams are still open.
    for container in containers:
        threading.Thread(target=read, args=(container,), name=f"csdp-logs-{container['name']}", daemon=True).start()

    def merged() -> Iterator[Entry]:
        running = len(containers)
        while running:
            try:
                item = received.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if item is None:
                running -= 1
            else:
                yield item

    return merged(), failures


def _print_entry(container: dict[str, Any], entry: dict[str, Any], *, as_json: bool, width: int) -> None:
    if as_json:
        line = dict(entry, container=container["name"]) if width else entry
        sys.stdout.write(json.dumps(line, default=str) + "\n")
        sys.stdout.flush()
        return
    if entry.get("event") == "end":
        print(f"{container['name']} is {entry.get('status')}, exit code {entry.get('exit_code')}", file=sys.stderr)
        return

    stream = sys.stderr if entry.get("stream") == "stderr" else sys.stdout
    text = entry.get("text", "")
    prefix = f"{container['name']:{width}} | " if width else ""
    for line in text.splitlines() or [""]:
        stream.write(prefix + line + "\n")
    stream.flush()
