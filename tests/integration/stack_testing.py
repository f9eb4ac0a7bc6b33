"""Helpers for tests that run the API and workers as subprocesses on private queues.

Each session gets its own queue prefix, results exchange and network, so
workers of other test runs on the same broker never take its tasks.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest

STOP_TIMEOUT = 15


def wait_for(predicate: Callable[[], Any], timeout: float, description: str = "condition", interval: float = 0.2) -> Any:
    """Return the first true value of ``predicate`` within ``timeout`` seconds, else fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{description} not reached within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def private_subnets() -> dict[str, str]:
    """Return CSDP_SUBNET_V4 and CSDP_SUBNET_V6 settings for a network of one test module.

    The third byte is random, so modules of concurrent test sessions do not ask
    the engine for overlapping pools.
    """
    index = random.randrange(256)
    return {"CSDP_SUBNET_V4": f"10.230.{index}.0/24", "CSDP_SUBNET_V6": f"fd5c:5d9e:230:{index:x}::/64"}


def worker_command(queue_prefix: str, name: str, concurrency: int = 4) -> list[str]:
    """Return the command of a Celery worker on this session's queues."""
    return [
        sys.executable, "-m", "celery", "-A", "csdp.workflows.app", "worker",
        "-P", "threads", "-c", str(concurrency), "-Q", f"{queue_prefix}realtime,{queue_prefix}scheduled",
        "-n", name, "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]  # fmt: skip


class ServerProcess:
    """A server subprocess with its output appended to a log file; it can be killed and started again."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.log_offset = 0

    def start(self, ready: Callable[[ServerProcess], bool], timeout: float = 60) -> ServerProcess:
        """Start the process and wait until ``ready`` is true; fail the test if it exits first."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as output:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        wait_for(lambda: ready(self) or not self.alive(), timeout, f"{self.name} ready")
        self.check_running()
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_since_start(self) -> str:
        return self.log()[self.log_offset :]

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def check_running(self) -> None:
        assert self.alive(), f"{self.name} exited with {self.process.returncode}:\n{self.log()[-3000:]}"

    def kill(self) -> None:
        """SIGKILL the process, as when its machine or container dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()


def api_server(env: dict[str, str], log_path: Path) -> tuple[str, ServerProcess]:
    """Start uvicorn with the API on a free loopback port; return its URL and process."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "csdp.api:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]  # fmt: skip

    def healthy(_: ServerProcess) -> bool:
        try:
            return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    return url, ServerProcess("api", command, {**os.environ, **env}, log_path).start(healthy, timeout=60)


def worker_ready(server: ServerProcess) -> bool:
    return " ready." in server.log_since_start()


def private_settings(env: dict[str, str]) -> Iterator[dict[str, str]]:
    """Apply ``env`` to this process's settings, catalog and Celery app; undo it and delete the queues afterwards.

    Fixtures built on this are module-scoped: the settings live in os.environ,
    and a session-scoped fixture would leak them into the next test folder.
    """
    from csdp.runtime import get_runtime
    from csdp.settings import get_settings
    from csdp.workflows.app import app, apply_settings
    from csdp.workflows.specs import get_catalog

    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    get_catalog.cache_clear()
    get_runtime.cache_clear()
    apply_settings(app, get_settings())
    os.makedirs(get_settings().staging_dir, exist_ok=True)

    yield env

    _delete_broker_objects(app, get_settings())
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    get_catalog.cache_clear()
    get_runtime.cache_clear()
    apply_settings(app, get_settings())


def _delete_broker_objects(app, settings) -> None:
    from csdp.workflows.app import REALTIME, SCHEDULED, queue_name

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for kind in (REALTIME, SCHEDULED):
            name = queue_name(kind, settings)
            channel.queue_delete(name)
            channel.exchange_delete(name)
        channel.exchange_delete(settings.results_exchange)
