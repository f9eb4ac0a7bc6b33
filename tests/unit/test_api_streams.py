"""Streams: blocking iterators bridged to async, closed when the client leaves; job events."""

from __future__ import annotations

import asyncio
import threading

from api_fakes import NOW
from csdp.api.streams import iterate_in_thread, job_event_stream
from csdp.wire import JobRecord


def blocking_lines(release: threading.Event, closed: threading.Event):
    try:
        yield "first"
        release.wait(10)
        yield "second"
    finally:
        closed.set()


def test_iterator_closed_after_cancel_while_blocked():
    release, closed = threading.Event(), threading.Event()

    async def consume_then_leave():
        stream = iterate_in_thread(blocking_lines(release, closed), "test")
        assert await stream.__anext__() == "first"
        pending = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.2)
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)
        await stream.aclose()

    asyncio.run(consume_then_leave())
    assert not closed.is_set()
    # The next line wakes the worker thread, which then closes the generator itself.
    release.set()
    assert closed.wait(5)


def test_iterator_closed_when_idle_consumer_stops():
    release, closed = threading.Event(), threading.Event()

    async def consume_one():
        stream = iterate_in_thread(blocking_lines(release, closed), "test")
        assert await stream.__anext__() == "first"
        await stream.aclose()

    asyncio.run(consume_one())
    assert closed.is_set()


def test_iterator_errors_propagate():
    def failing():
        yield 1
        raise ValueError("engine gone")

    async def consume():
        return [item async for item in iterate_in_thread(failing(), "test")]

    try:
        asyncio.run(consume())
    except ValueError as error:
        assert "engine gone" in str(error)
    else:
        raise AssertionError("the error of the iterator was swallowed")


def test_job_events_send_each_change_once():
    states = iter(["queued", "queued", "running", "running", "succeeded"])

    def read_job():
        return JobRecord(id="j1", owner="alice", service="syslog", action="start", state=next(states), created=NOW)

    async def collect():
        return [event async for event in job_event_stream(read_job, "job j1")]

    events = asyncio.run(collect())
    sent_states = [event.decode().split('"state":"')[1].split('"')[0] for event in events]
    assert sent_states == ["queued", "running", "succeeded"]
    assert all(event.startswith(b"event: job\ndata: ") for event in events)


def test_job_events_end_when_record_expires():
    async def collect():
        return [event async for event in job_event_stream(lambda: None, "job j1")]

    events = asyncio.run(collect())
    assert len(events) == 1
    assert events[0].startswith(b"event: error\n")
