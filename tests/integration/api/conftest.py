"""Fixtures of the API integration tests: a real API server and Celery worker over private queues.

The server (uvicorn) and the worker run as subprocesses with the same
``CSDP_*`` environment: a queue prefix, results exchange, network and staging
folder of this session only, so nothing here touches other test runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

SERVICES = ["syslog", "webhook"]
START_TIMEOUT = 30
STOP_TIMEOUT = 15
UPLOAD_LIMIT_BYTES = 64 * 1024 * 1024


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Return the first true value of ``predicate`` within ``timeout`` seconds, else fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    """A server subprocess with its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with open(log_path, "ab") as output:
            self.process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def api_env(tmp_path_factory):
    """Set the private settings in this process and return them for the subprocesses."""
    from csdp.settings import get_settings
    from csdp.workflows.app import app, apply_settings
    from csdp.workflows.specs import get_catalog

    run = uuid.uuid4().hex[:8]
    staging = tmp_path_factory.mktemp("staging")
    env = {
        "CSDP_QUEUE_PREFIX": f"test-api-{run}-",
        "CSDP_RESULTS_EXCHANGE": f"csdp.results.test-api-{run}",
        "CSDP_NETWORK_NAME": f"csdp-test-api-{run}",
        "CSDP_SUBNET_V4": "10.237.0.0/24",
        "CSDP_SUBNET_V6": "fd5c:5d9e:37::/64",
        "CSDP_STAGING_DIR": str(staging),
        "CSDP_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT_BYTES),
        "CSDP_SERVICES_PATH": json.dumps([]),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    get_catalog.cache_clear()
    apply_settings(app, get_settings())

    yield env

    settings = get_settings()
    _delete_broker_objects(app, settings)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    get_catalog.cache_clear()
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


@pytest.fixture(scope="session")
def runtime(api_env):
    """The Docker runtime on this session's network; the network is removed at the end."""
    from csdp.runtime.docker_backend import DockerRuntime
    from csdp.settings import get_settings

    backend = DockerRuntime(get_settings())
    backend.ensure_network()
    yield backend
    for info in backend.list():
        if info.owner.startswith(os.environ["CSDP_TEST_SESSION_PREFIX"]):
            backend.remove(info.id)
    backend.remove_network()


@pytest.fixture(scope="session")
def service_images(api_env):
    from csdp.catalog import load_catalog
    from csdp.runtime.images import build_service_images
    from csdp.settings import get_settings

    results = build_service_images(load_catalog(), get_settings(), names=SERVICES)
    return {result.service: result.image for result in results}


@pytest.fixture(scope="session")
def worker(api_env, runtime, service_images, tmp_path_factory):
    from csdp.settings import get_settings

    prefix = get_settings().queue_prefix
    command = [
        sys.executable, "-m", "celery", "-A", "csdp.workflows.app", "worker",
        "-P", "threads", "-c", "4", "-Q", f"{prefix}realtime,{prefix}scheduled",
        "-n", f"{prefix}worker@%h", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
    ]
    process = Process("worker", command, {**os.environ, **api_env}, tmp_path_factory.mktemp("logs") / "worker.log")
    wait_for(lambda: " ready." in process.log() or not process.alive(), START_TIMEOUT, "worker ready")
    assert process.alive(), f"worker exited at start:\n{process.log()[-3000:]}"
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api_url(api_env, runtime, tmp_path_factory):
    """Base URL of a uvicorn server running the API on a free loopback port."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "csdp.api:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    process = Process("api", command, {**os.environ, **api_env}, tmp_path_factory.mktemp("logs") / "api.log")
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return not process.alive()

    wait_for(healthy, START_TIMEOUT, "API server up")
    assert process.alive(), f"API server exited at start:\n{process.log()[-3000:]}"
    yield url
    process.stop()
    if "Traceback" in process.log():
        print(f"API server log:\n{process.log()[-8000:]}")


@pytest.fixture
def make_user(api_env):
    """Return a function that adds a test user and returns an HTTP client with its token."""
    from csdp.workflows import users

    names: list[str] = []
    clients: list[httpx.Client] = []

    def make(api_url: str, admin: bool = False, **limits) -> tuple[str, httpx.Client]:
        name = f"test-api-{uuid.uuid4().hex[:8]}"
        _, token = users.add_user(name, admin=admin, **limits)
        names.append(name)
        client = httpx.Client(base_url=f"{api_url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)
        clients.append(client)
        return name, client

    yield make
    for client in clients:
        client.close()
    for name in names:
        users.remove_user(name)


@pytest.fixture
def clean_staging(api_env):
    """The staging folder, emptied before the test."""
    staging = Path(api_env["CSDP_STAGING_DIR"])
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging
