"""Commands in containers: exit codes, separate streams, timeouts."""

from __future__ import annotations

import threading
import time

import pytest

from csdp.errors import Conflict, InvalidInput, NotFound
from csdp.runtime.base import ExecOutput, ExecResult

pytestmark = pytest.mark.integration

MIXED = ["sh", "-c", "echo out; echo err >&2; exit 3"]


def test_exec_buffered_exit_code(runtime, running):
    result = runtime.exec(running.id, MIXED, timeout=10)

    assert result.exit_code == 3
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"
    assert result.timed_out is False


def test_exec_stream_exit_code(runtime, running):
    items = list(runtime.exec_stream(running.id, MIXED, timeout=10))

    chunks = [item for item in items if isinstance(item, ExecOutput)]
    assert b"".join(chunk.data for chunk in chunks if chunk.stream == "stdout") == b"out\n"
    assert b"".join(chunk.data for chunk in chunks if chunk.stream == "stderr") == b"err\n"
    assert items[-1] == ExecResult(3, b"", b"")
    assert sum(isinstance(item, ExecResult) for item in items) == 1


def test_exec_output_discarded_keeps_code(runtime, running):
    result = runtime.exec(running.id, ["sh", "-c", "echo out >/dev/null; exit 3"], timeout=10)

    assert result.exit_code == 3
    assert result.stdout == b""


@pytest.mark.parametrize("program", ["no-such-program", "/no/such/program"])
def test_exec_missing_program(runtime, running, program):
    result = runtime.exec(running.id, [program], timeout=10)
    streamed = list(runtime.exec_stream(running.id, [program], timeout=10))[-1]

    assert result.exit_code in (126, 127)
    assert streamed.exit_code in (126, 127)


def test_exec_missing_program_error_in_stderr(runtime, running):
    result = runtime.exec(running.id, ["no-such-program"], timeout=10)
    items = list(runtime.exec_stream(running.id, ["no-such-program"], timeout=10))

    assert result.exit_code == 126
    assert result.stdout == b""
    assert b'"no-such-program": executable file not found' in result.stderr
    assert result.stderr.endswith(b"unknown\n")
    assert [item.stream for item in items if isinstance(item, ExecOutput)] == ["stderr"]


def test_exec_output_like_engine_error_stays(runtime, running):
    result = runtime.exec(running.id, ["sh", "-c", "echo 'OCI runtime exec failed'; echo more"], timeout=10)

    assert result.exit_code == 0
    assert result.stdout == b"OCI runtime exec failed\nmore\n"


@pytest.mark.parametrize("name", ["A=B", "1X", "", "X-Y", "X Y"])
def test_exec_bad_environment_name(runtime, running, name):
    with pytest.raises(InvalidInput) as caught:
        runtime.exec(running.id, ["true"], timeout=10, environment={name: "v"})

    assert caught.value.message.startswith(f"environment variable name {name!r} is not valid")
    assert caught.value.details["variable"] == name


def test_exec_timeout(runtime, running):
    threads_before = set(threading.enumerate())
    started = time.monotonic()

    result = runtime.exec(running.id, ["sh", "-c", "echo before; sleep 61; echo after"], timeout=1)

    assert time.monotonic() - started < 10
    assert result.exit_code == 124
    assert result.timed_out is True
    assert result.stdout == b"before\n"
    assert set(threading.enumerate()) <= threads_before
    processes = runtime.exec(running.id, ["sh", "-c", "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"], timeout=10)
    assert b"sleep 61" not in processes.stdout


def test_exec_stream_timeout(runtime, running):
    items = list(runtime.exec_stream(running.id, ["sleep", "60"], timeout=1))

    assert items == [ExecResult(124, b"", b"", timed_out=True)]


def test_exec_environment_workdir_user(runtime, running):
    result = runtime.exec(
        running.id,
        ["sh", "-c", 'echo "$GREETING $(pwd) $(id -u)"'],
        timeout=10,
        environment={"GREETING": "hi"},
        workdir="/tmp",
        user="nobody",
    )

    assert result.exit_code == 0
    assert result.stdout == b"hi /tmp 65534\n"


def test_exec_stopped_container(runtime, running):
    runtime.stop(running.id, timeout=1)

    with pytest.raises(Conflict) as caught:
        runtime.exec(running.id, ["true"], timeout=5)

    assert "not running" in caught.value.message


def test_exec_missing_container(runtime):
    with pytest.raises(NotFound) as caught:
        runtime.exec("csdp-no-such-container", ["true"], timeout=5)

    assert "csdp-no-such-container" in caught.value.message


def test_exec_output_capped(settings, running):
    from csdp.runtime.docker_backend import DockerRuntime

    capped = DockerRuntime(settings.model_copy(update={"max_exec_output_bytes": 1000}))
    result = capped.exec(running.id, ["sh", "-c", "head -c 3000000 /dev/zero; echo err >&2; exit 4"], timeout=20)

    assert result.exit_code == 4
    assert result.stdout == bytes(1000)
    assert result.stderr == b"err\n"
    assert result.truncated is True
