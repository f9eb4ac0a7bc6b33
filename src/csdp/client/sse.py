"""Parse the API's ``text/event-stream`` of job records."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Iterable, Iterator

from csdp.client.errors import error_from_body
from csdp.errors import OperationTimeout

log = logging.getLogger(__name__)


def events(lines: Iterable[bytes]) -> Iterator[tuple[str, str]]:
    """Yield ``(event, data)`` pairs of a server-sent event stream."""
    name = "message"
    data: list[str] = []
    for raw in lines:
        line = raw.decode("utf-8", "replace")
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
    if data:
        yield name, "\n".join(data)


def until(lines: Iterator[bytes], deadline: float, what: str) -> Iterator[bytes]:
    """Yield ``lines`` until ``time.monotonic()`` passes ``deadline``, then raise OperationTimeout."""
    for line in lines:
        if time.monotonic() > deadline:
            close = getattr(lines, "close", None)
            if close is not None:
                close()
            raise OperationTimeout(f"{what} did not end in time")
        yield line


def job_records(lines: Iterable[bytes]) -> Iterator[dict[str, Any]]:
    """Yield the record of each ``job`` event; an ``error`` event raises its csdp error."""
    for name, data in events(lines):
        if name not in ("job", "error"):
            continue
        try:
            value = json.loads(data)
        except ValueError:
            log.warning("ignored a %s event that is not JSON: %r", name, data[:200])
            continue
        if name == "error":
            raise error_from_body(value, status=500)
        yield value
