"""Container output: streams, since/until/tail, follow to the exit, clearing."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import docker
import pytest

from csdp.errors import NotFound
from csdp.runtime.base import LogEnd, LogLine
from csdp.runtime.labels import parse_engine_time

pytestmark = pytest.mark.integration


def _texts(items) -> list[str]:
    return [item.text for item in items if isinstance(item, LogLine)]


def test_logs_streams_kept_apart(runtime, start_container):
    info = start_container(command=("sh", "-c", "echo out; echo err >&2; sleep infinity"))
    time.sleep(1)

    lines = list(runtime.logs(info.id))

    # The two pipes are read separately, so their order in the log may vary.
    assert sorted((line.stream, line.text) for line in lines) == [("stderr", "err"), ("stdout", "out")]
    assert all(line.timestamp.tzinfo is not None for line in lines)


def test_logs_tail_and_since(runtime, start_container):
    info = start_container(command=("sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; sleep infinity"))
    time.sleep(1)

    assert _texts(runtime.logs(info.id, tail=2)) == ["line4", "line5"]
    assert _texts(runtime.logs(info.id, since=datetime.now(timezone.utc) + timedelta(seconds=1))) == []
    assert len(_texts(runtime.logs(info.id, until=datetime.now(timezone.utc)))) == 5


def test_follow_ends_at_exit(runtime, start_container):
    threads_before = set(threading.enumerate())
    info = start_container(command=("sh", "-c", "echo hello; sleep 2; exit 0"))

    items = list(runtime.logs(info.id, follow=True))

    assert _texts(items) == ["hello"]
    assert items[-1] == LogEnd("exited", 0)
    assert runtime.info(info.id).exit_code == 0
    assert set(threading.enumerate()) <= threads_before


def test_follow_exit_within_five_seconds(runtime, start_container):
    info = start_container(command=("sh", "-c", "echo hello; sleep 2; exit 0"))
    iterator = runtime.logs(info.id, follow=True)
    first = next(iterator)
    assert isinstance(first, LogLine)
    assert first.text == "hello"

    rest = list(iterator)
    returned = time.monotonic()
    finished = _finished_at(runtime, info.id)

    assert rest == [LogEnd("exited", 0)]
    assert returned - finished < 5


def _finished_at(runtime, container_id: str) -> float:
    """Return the container's exit as a time.monotonic value."""
    state = docker.from_env().api.inspect_container(container_id)["State"]
    finished = parse_engine_time(state["FinishedAt"])
    return time.monotonic() - (datetime.now(timezone.utc) - finished).total_seconds()


def test_follow_nonzero_exit(runtime, start_container):
    info = start_container(command=("sh", "-c", "echo bye; exit 7"))

    items = list(runtime.logs(info.id, follow=True))

    assert _texts(items) == ["bye"]
    assert items[-1] == LogEnd("exited", 7)


def test_follow_abandoned_leaves_no_thread(runtime, running):
    threads_before = set(threading.enumerate())
    iterator = runtime.logs(running.id, follow=True)
    runtime.exec(running.id, ["true"], timeout=5)

    reader = threading.Thread(target=lambda: next(iterator, None), daemon=True)
    reader.start()
    reader.join(timeout=1.5)
    runtime.stop(running.id, timeout=1)
    reader.join(timeout=5)
    iterator.close()

    assert not reader.is_alive()
    time.sleep(0.1)
    assert set(threading.enumerate()) <= threads_before


def test_clear_logs_hides_earlier_output(runtime, start_container):
    info = start_container(command=("sh", "-c", "echo before; sleep 2; echo after; sleep infinity"))
    time.sleep(1)

    runtime.clear_logs(info.id)
    assert _texts(runtime.logs(info.id)) == []
    time.sleep(2)

    assert _texts(runtime.logs(info.id)) == ["after"]
    assert _texts(runtime.logs(info.id, tail=10)) == ["after"]


def test_clear_logs_survives_restart(runtime, start_container):
    info = start_container(command=("sh", "-c", "echo run; sleep infinity"))
    time.sleep(1)
    runtime.clear_logs(info.id)

    runtime.restart(info.id, timeout=1)
    time.sleep(1)

    assert _texts(runtime.logs(info.id)) == ["run"]


def test_logs_missing_container(runtime):
    with pytest.raises(NotFound) as caught:
        list(runtime.logs("csdp-no-such-container"))

    assert "csdp-no-such-container" in caught.value.message


def test_follow_closed_from_other_thread(runtime, start_container):
    """A client that leaves a quiet, running container frees the reading thread."""
    info = start_container(command=("sh", "-c", "echo hello; sleep infinity"))
    stream = runtime.logs(info.id, follow=True)
    assert next(stream).text == "hello"
    finished = threading.Event()

    def read_rest() -> None:
        list(stream)
        finished.set()

    reader = threading.Thread(target=read_rest, daemon=True)
    reader.start()
    time.sleep(0.5)
    assert not finished.is_set()

    stream.close()

    assert finished.wait(5)
    reader.join(5)
    assert not reader.is_alive()
