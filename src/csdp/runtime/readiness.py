"""Waiting until a started container serves: port, exec, log or no check.

Uses only the Runtime interface, so every backend shares it.
"""

from __future__ import annotations

import logging
import re
import socket
import time

from csdp.errors import OperationTimeout, RuntimeFailure
from csdp.runtime.base import ContainerInfo, LogLine, ReadinessSpec, Runtime
from csdp.runtime.names import short_id

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
# Maximum duration of one probe, in seconds, so that a slow probe cannot overrun the deadline by much.
PROBE_SECONDS = 5.0
LAST_LOG_LINES = 20
STOPPED_STATES = ("exited", "dead")


def wait_ready(runtime: Runtime, container_id: str, readiness: ReadinessSpec) -> ContainerInfo:
    """Poll the readiness check until it passes and return fresh info.

    Raises RuntimeFailure with the last log lines if the container stops, and
    OperationTimeout naming the container and the check after ``readiness.timeout_seconds``.
    """
    pattern = re.compile(readiness.pattern) if readiness.kind == "log" and readiness.pattern else None
    deadline = time.monotonic() + readiness.timeout_seconds
    while True:
        info = runtime.info(container_id)
        if info.status in STOPPED_STATES:
            raise _stopped_error(runtime, info, readiness)
        remaining = max(deadline - time.monotonic(), 0.1)
        if _check(runtime, info, readiness, pattern, min(remaining, PROBE_SECONDS)):
            log.info("container %s is ready (%s)", short_id(container_id), describe(readiness))
            return info
        if time.monotonic() >= deadline:
            raise OperationTimeout(
                f"container {info.name} ({short_id(container_id)}) was not ready after "
                f"{readiness.timeout_seconds:g} s: {describe(readiness)} did not pass; see its logs",
                container=container_id,
                check=describe(readiness),
            )
        time.sleep(POLL_SECONDS)


def describe(readiness: ReadinessSpec) -> str:
    """Return the check in words, for messages and logs."""
    if readiness.kind == "port":
        return f"{readiness.protocol.upper()} port {readiness.port} check"
    if readiness.kind == "exec":
        return f"command {list(readiness.command or ())} check"
    if readiness.kind == "log":
        return f"log pattern {readiness.pattern!r} check"
    return "no check"


def _check(
    runtime: Runtime, info: ContainerInfo, readiness: ReadinessSpec, pattern: re.Pattern | None, timeout: float
) -> bool:
    if readiness.kind == "port" and readiness.protocol == "udp":
        return _udp_bound(runtime, info.id, readiness.port or 0, timeout)
    if readiness.kind == "port":
        return _tcp_accepts(info.ip_address, readiness.port or 0, timeout)
    if readiness.kind == "exec":
        return runtime.exec(info.id, list(readiness.command or ()), timeout=timeout).exit_code == 0
    if readiness.kind == "log" and pattern is not None:
        return any(isinstance(line, LogLine) and pattern.search(line.text) for line in runtime.logs(info.id))
    return True


def _tcp_accepts(address: str | None, port: int, timeout: float) -> bool:
    if not address:
        return False
    try:
        with socket.create_connection((address, port), timeout=min(timeout, 1.0)):
            return True
    except OSError:
        return False


def _udp_bound(runtime: Runtime, container_id: str, port: int, timeout: float) -> bool:
    """Tell whether a UDP socket in the container is bound to ``port``, from /proc/net/udp and udp6."""
    result = runtime.exec(container_id, ["cat", "/proc/net/udp", "/proc/net/udp6"], timeout=timeout)
    return port in udp_ports(result.stdout.decode("ascii", "replace"))


def udp_ports(proc_net_udp: str) -> set[int]:
    """Return the local ports listed in the text of /proc/net/udp or /proc/net/udp6."""
    ports = set()
    for line in proc_net_udp.splitlines():
        fields = line.split()
        if len(fields) > 1 and ":" in fields[1] and fields[0].rstrip(":").isdigit():
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _stopped_error(runtime: Runtime, info: ContainerInfo, readiness: ReadinessSpec) -> RuntimeFailure:
    lines = [line.text for line in runtime.logs(info.id, tail=LAST_LOG_LINES) if isinstance(line, LogLine)]
    output = "\n".join(lines) or "(no output)"
    return RuntimeFailure(
        f"container {info.name} ({short_id(info.id)}) stopped with exit code {info.exit_code} "
        f"before the {describe(readiness)} passed; last output:\n{output}",
        container=info.id,
        exit_code=info.exit_code,
    )
