"""Output for humans (tables, a spinner on a terminal) and for scripts (``--json``)."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, Sequence, TextIO

CONTAINER_COLUMNS = (
    ("ID", "id"),
    ("NAME", "name"),
    ("IPV4", "ip_address"),
    ("IPV6", "ipv6_address"),
    ("PORT", "service_port"),
    ("STATUS", "status"),
    ("CREATED", "created"),
)
ALL_CONTAINER_COLUMNS = (CONTAINER_COLUMNS[0], ("SERVICE", "service"), *CONTAINER_COLUMNS[1:])
JOB_COLUMNS = (
    ("ID", "id"),
    ("ACTION", "action"),
    ("SERVICE", "service"),
    ("STATE", "state"),
    ("CREATED", "created"),
    ("FINISHED", "finished"),
)
SCHEDULE_COLUMNS = (
    ("ID", "id"),
    ("SERVICE", "service"),
    ("ACTION", "action"),
    ("CRON", "cron"),
    ("NEXT RUN", "next_run"),
    ("EMAIL", "email"),
    ("LAST JOB", "last_job_id"),
)
SHORT_ID = 12


def print_json(value: Any, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def format_cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "id" and isinstance(value, str):
        return value[:SHORT_ID]
    if key in ("created", "finished", "started", "expires_at", "next_run") and isinstance(value, str):
        # ISO 8601 to "2026-12-04 20:12:42", which is shorter and still sorts.
        return value.replace("T", " ")[:19]
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """Return ``rows`` as aligned columns under a header line."""
    cells = [[title for title, _ in columns]]
    cells += [[format_cell(key, row.get(key)) for _, key in columns] for row in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]
    return "\n".join(lines) + "\n"


def print_containers(
    containers: Sequence[dict[str, Any]], *, empty: str, columns: Sequence[tuple[str, str]] = CONTAINER_COLUMNS
) -> None:
    if not containers:
        print(empty)
        return
    sys.stdout.write(table(containers, columns))


def describe_step(record: dict[str, Any]) -> str:
    """Return a short progress line for a job record, such as ``running: start (replica 2)``."""
    text = record.get("state", "queued")
    steps = record.get("steps") or []
    if steps:
        last = steps[-1]
        replica = f" (replica {last['replica']})" if last.get("replica") is not None else ""
        text += f": {last.get('step')}{replica}"
    return text


class Spinner:
    """A one-line progress display on stderr, shown only when stderr is a terminal."""

    FRAMES = "|/-\\"

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.text = "queued"
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def update(self, record: dict[str, Any]) -> None:
        self.text = describe_step(record)

    def __enter__(self) -> Spinner:
        if self._enabled:
            self._thread = threading.Thread(target=self._run, name="csdp-spinner", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._thread is not None:
            self._stopped.set()
            self._thread.join()
            self._stream.write("\r\033[K")
            self._stream.flush()

    def _run(self) -> None:
        index = 0
        while not self._stopped.wait(0.1):
            frame = self.FRAMES[index % len(self.FRAMES)]
            self._stream.write(f"\r\033[K{frame} {self.label}: {self.text}")
            self._stream.flush()
            index += 1
