"""Streamed responses: ndjson for logs and exec, server-sent events for jobs.

Runtime iterators block, so each ``next()`` runs in a worker thread. When the
client goes away Starlette cancels the response task and the runtime iterator
is closed, which for a followed log closes the engine stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any, AsyncIterator, Callable, Iterator, TypeVar

import anyio
from starlette.concurrency import run_in_threadpool

from csdp.errors import CsdpError
from csdp.runtime.base import ExecOutput, ExecResult, LogEnd, LogLine
from csdp.wire import TERMINAL_STATES, JobRecord

log = logging.getLogger(__name__)

T = TypeVar("T")
NDJSON = "application/x-ndjson"
EVENT_STREAM = "text/event-stream"
JOB_POLL_SECONDS = 0.2
KEEPALIVE_SECONDS = 15.0
_DONE = object()


def ndjson_line(item: dict[str, Any]) -> bytes:
    return (json.dumps(item, default=str) + "\n").encode("utf-8")


def _close(iterator: Iterator[Any], label: str) -> None:
    close = getattr(iterator, "close", None)
    if close is None:
        return
    try:
        close()
    except ValueError:
        # A generator cannot be closed while a thread runs it, so _advance
        # closes it in that thread as soon as its current next() returns.
        # Runtime log streams have a close() that works from any thread.
        log.info("%s: client left; the stream closes with its next item", label)


def _advance(iterator: Iterator[T], abandoned: threading.Event, label: str) -> T | object:
    item = next(iterator, _DONE)
    if abandoned.is_set():
        _close(iterator, label)
        return _DONE
    return item


async def iterate_in_thread(iterator: Iterator[T], label: str) -> AsyncIterator[T]:
    """Yield the items of a blocking iterator, calling ``next()`` in a worker thread.

    Errors raised by the iterator propagate. When the consumer stops early or
    is cancelled, the iterator is closed: at once if it is idle, otherwise by
    the worker thread when its pending ``next()`` returns.
    """
    abandoned = threading.Event()
    try:
        while True:
            item = await anyio.to_thread.run_sync(_advance, iterator, abandoned, label, abandon_on_cancel=True)
            if item is _DONE:
                return
            yield item
    finally:
        abandoned.set()
        _close(iterator, label)


def log_item(item: LogLine | LogEnd) -> dict[str, Any]:
    if isinstance(item, LogEnd):
        return {"event": "end", "status": item.status, "exit_code": item.exit_code}
    return {"stream": item.stream, "timestamp": item.timestamp.isoformat(), "text": item.text}


def exec_item(item: ExecOutput | ExecResult) -> dict[str, Any]:
    if isinstance(item, ExecResult):
        return {"event": "exit", "exit_code": item.exit_code, "timed_out": item.timed_out}
    return {"stream": item.stream, "data": item.data.decode("utf-8", "replace")}


async def ndjson_stream(
    open_iterator: Callable[[], Iterator[Any]], to_dict: Callable[[Any], dict[str, Any]], label: str
) -> AsyncIterator[bytes]:
    """Yield ndjson lines; an error after the status was sent becomes a final error event."""
    try:
        iterator = await run_in_threadpool(open_iterator)
        async for item in iterate_in_thread(iterator, label):
            yield ndjson_line(to_dict(item))
    except CsdpError as exc:
        log.info("%s: stream ended by %s: %s", label, exc.code, exc.message)
        yield ndjson_line({"event": "error", "code": exc.code, "message": exc.message})
    finally:
        log.debug("%s: stream closed", label)


def sse_event(event: str, data: str) -> bytes:
    return f"event: {event}\ndata: {data}\n\n".encode("utf-8")


async def job_event_stream(read_job: Callable[[], JobRecord | None], label: str) -> AsyncIterator[bytes]:
    """Send the job record each time it changes, polling the store; end after a terminal state."""
    last_sent: str | None = None
    idle = 0.0
    while True:
        record = await run_in_threadpool(read_job)
        if record is None:
            yield sse_event("error", json.dumps({"code": "not_found", "message": f"{label} expired or was removed"}))
            return
        data = record.model_dump_json()
        if data != last_sent:
            yield sse_event("job", data)
            last_sent, idle = data, 0.0
        elif idle >= KEEPALIVE_SECONDS:
            # A comment line keeps proxies from closing a quiet connection.
            yield b": keep-alive\n\n"
            idle = 0.0
        if record.state in TERMINAL_STATES:
            return
        await asyncio.sleep(JOB_POLL_SECONDS)
        idle += JOB_POLL_SECONDS
