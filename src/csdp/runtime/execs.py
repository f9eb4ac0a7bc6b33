"""Commands run inside containers, with exit codes that are always integers.

``exec_create``, ``exec_start`` and ``exec_inspect`` are used instead of the
SDK's ``exec_run``, which returns no exit code when streaming.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import time
from typing import Iterator

import docker

from csdp.errors import InvalidInput
from csdp.runtime.base import ExecOutput, ExecResult
from csdp.runtime.engine_errors import engine_errors, translate
from csdp.runtime.frames import DeadlineSocket, iter_frames
from csdp.runtime.names import short_id

log = logging.getLogger(__name__)

TIMEOUT_EXIT_CODE = 124
# Shell convention for "found but cannot run"; used if the engine records no code.
CANNOT_RUN_EXIT_CODE = 126
EXIT_CODE_WAIT_SECONDS = 5.0
# Bytes kept of each output stream when the caller gives no limit.
DEFAULT_OUTPUT_LIMIT = 1024 * 1024
ENVIRONMENT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Start of the engine's own message about a command it cannot start, which the engine writes to stdout.
ENGINE_EXEC_FAILURE = b"OCI runtime exec failed"


def run_exec(
    api: docker.APIClient,
    container_id: str,
    command: list[str],
    *,
    timeout: float,
    environment: dict[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
) -> ExecResult:
    """Run ``command`` and return its output and exit code; see ``stream_exec`` for the timeout.

    Each stream keeps at most ``output_limit`` bytes. The rest is read and
    dropped, so the command does not block on a full pipe and the exit code
    stays its own. ``truncated`` is set when something was dropped.
    """
    output = {"stdout": bytearray(), "stderr": bytearray()}
    truncated = False
    outcome = ExecResult(CANNOT_RUN_EXIT_CODE, b"", b"")
    for item in stream_exec(
        api, container_id, command, timeout=timeout, environment=environment, workdir=workdir, user=user
    ):
        if isinstance(item, ExecOutput):
            buffer = output[item.stream]
            room = output_limit - len(buffer)
            if len(item.data) > room:
                truncated = True
            buffer.extend(item.data[: max(room, 0)])
        else:
            outcome = item
    if truncated:
        log.info("exec in container %s: output beyond %d bytes per stream dropped", short_id(container_id), output_limit)
    return ExecResult(
        outcome.exit_code, bytes(output["stdout"]), bytes(output["stderr"]), outcome.timed_out, truncated=truncated
    )


def stream_exec(
    api: docker.APIClient,
    container_id: str,
    command: list[str],
    *,
    timeout: float,
    environment: dict[str, str] | None = None,
    workdir: str | None = None,
    user: str | None = None,
) -> Iterator[ExecOutput | ExecResult]:
    """Yield output chunks as they arrive, then one ExecResult with empty output and the exit code.

    After ``timeout`` seconds the connection is closed, the process is killed
    when the engine runs on this host, and the result has exit code 124 and
    ``timed_out`` set. No thread is left behind either way.
    """
    check_environment(environment)
    operation = f"exec of {command[:1]}"
    deadline = time.monotonic() + timeout
    with engine_errors(operation, container=container_id):
        exec_id = api.exec_create(
            container_id, command, stdout=True, stderr=True, environment=environment, workdir=workdir, user=user or ""
        )["Id"]
        connection = DeadlineSocket(api.exec_start(exec_id, socket=True), deadline)

    timed_out = False
    # The engine's own failure message is kept back until the exit code shows whether it was one.
    engine_message = b""
    first_frame = True
    try:
        for stream, data in iter_frames(connection.read):
            if first_frame and stream == "stdout" and data.startswith(ENGINE_EXEC_FAILURE):
                engine_message = data
                first_frame = False
                continue
            first_frame = False
            if engine_message:
                yield ExecOutput("stdout", engine_message)
                engine_message = b""
            yield ExecOutput(stream, data)
    except TimeoutError:
        timed_out = True
    except OSError as exc:
        raise translate(ConnectionError(str(exc)), container=container_id, operation=operation) from exc
    finally:
        connection.close()

    if timed_out:
        log.info("exec %s in container %s timed out after %.0f s", short_id(exec_id), short_id(container_id), timeout)
        _kill_exec(api, exec_id, container_id)
        if engine_message:
            yield ExecOutput("stdout", engine_message)
        yield ExecResult(TIMEOUT_EXIT_CODE, b"", b"", timed_out=True)
        return
    exit_code = _exit_code(api, exec_id, container_id)
    if engine_message and exit_code == CANNOT_RUN_EXIT_CODE:
        yield ExecOutput("stderr", engine_message.rstrip(b"\r\n") + b"\n")
    elif engine_message:
        yield ExecOutput("stdout", engine_message)
    yield ExecResult(exit_code, b"", b"")


def check_environment(environment: dict[str, str] | None) -> None:
    """Raise InvalidInput naming the first variable whose name a shell could not set."""
    for name in environment or {}:
        if not ENVIRONMENT_NAME.fullmatch(name):
            raise InvalidInput(
                f"environment variable name {name!r} is not valid: use letters, digits and underscores, "
                "not starting with a digit",
                field="environment",
                variable=name,
            )


def _exit_code(api: docker.APIClient, exec_id: str, container_id: str) -> int:
    """Return the exit code, waiting briefly because the engine may record it after the stream ends."""
    give_up = time.monotonic() + EXIT_CODE_WAIT_SECONDS
    while True:
        with engine_errors("exec inspection", container=container_id):
            state = api.exec_inspect(exec_id)
        if not state.get("Running") and state.get("ExitCode") is not None:
            return int(state["ExitCode"])
        if time.monotonic() > give_up:
            log.warning(
                "exec %s in container %s has no exit code (running=%s); reporting %d",
                short_id(exec_id), short_id(container_id), state.get("Running"), CANNOT_RUN_EXIT_CODE,
            )
            return CANNOT_RUN_EXIT_CODE
        time.sleep(0.02)


def _kill_exec(api: docker.APIClient, exec_id: str, container_id: str) -> None:
    """Kill a timed-out exec process and its descendants if the engine runs on this host.

    The engine has no call to stop an exec, so the process is found by its host
    PID and killed only if its cgroup names the container. With a remote
    engine the process is left running.
    """
    with engine_errors("exec inspection", container=container_id):
        pid = api.exec_inspect(exec_id).get("Pid") or 0
    if pid <= 0:
        return
    try:
        with open(f"/proc/{pid}/cgroup", encoding="utf-8") as cgroup:
            if container_id not in cgroup.read():
                log.info("exec %s left running: PID %d is not in container %s here", short_id(exec_id), pid, short_id(container_id))
                return
        # Collected before the first kill, because killed parents hand their children to the container's init.
        pids = [pid, *_descendants(pid)]
        for target in pids:
            os.kill(target, signal.SIGKILL)
        log.info("killed timed-out exec %s (PIDs %s) in container %s", short_id(exec_id), pids, short_id(container_id))
    except (OSError, ValueError) as exc:
        log.info("exec %s left running in container %s: %s", short_id(exec_id), short_id(container_id), exc)


def _descendants(pid: int) -> list[int]:
    found = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in os.listdir(f"/proc/{parent}/task"):
            try:
                with open(f"/proc/{parent}/task/{task}/children", encoding="ascii") as children:
                    kids = [int(child) for child in children.read().split()]
            except OSError:
                continue
            found.extend(kids)
            pending.extend(kids)
    return found
