"""Fixtures of the CLI integration tests: a real API and worker as subprocesses, and a test user.

The API and the worker are started with ``csdp server api`` and ``csdp server
worker``, so those commands are tested too. Each session uses its own queue
prefix and results exchange, so workers of other test runs never take its tasks.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import CSDP, Cli, environment_without_csdp_client, wait_for

START_TIMEOUT = 60
STOP_TIMEOUT = 15
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
SERVICES = ["syslog", "webhook"]
# A network of this session only, on subnets no other test suite uses.
SUBNET_V4 = "10.238.0.0/24"
SUBNET_V6 = "fd5c:5d9e:38::/64"


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def check_running(self) -> None:
        assert self.process.poll() is None, f"{self.name} exited with {self.process.returncode}:\n{self.log()[-3000:]}"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    api: Server
    worker: Server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Server:
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen([CSDP, *args], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    return Server(name, process, log_path)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _delete_broker_objects(env: dict[str, str]) -> None:
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        for kind in ("realtime", "scheduled"):
            channel.queue_delete(env["CSDP_QUEUE_PREFIX"] + kind)
            channel.exchange_delete(env["CSDP_QUEUE_PREFIX"] + kind)
        channel.exchange_delete(env["CSDP_RESULTS_EXCHANGE"])
    finally:
        connection.close()


def _remove_network(env: dict[str, str]) -> None:
    """Remove the session's network, after any container still on it (the tests delete theirs)."""
    import docker

    from csdp.runtime.docker_backend import DockerRuntime
    from csdp.settings import Settings

    name = env["CSDP_NETWORK_NAME"]
    engine = docker.from_env(timeout=60)
    try:
        for container in engine.containers.list(all=True, filters={"network": name}):
            container.remove(force=True)
    finally:
        engine.close()
    settings = Settings(network_name=name, subnet_v4=env["CSDP_SUBNET_V4"], subnet_v6=env["CSDP_SUBNET_V6"])
    DockerRuntime(settings).remove_network()


@pytest.fixture(scope="session")
def cli_stack(tmp_path_factory) -> Stack:
    """Build the images, start a worker and the API on a free port; stop and remove it all after the session."""
    run = uuid.uuid4().hex[:8]
    log_dir = tmp_path_factory.mktemp("cli-servers")
    env = {
        **environment_without_csdp_client(),
        "CSDP_QUEUE_PREFIX": f"test-cli-{run}-",
        "CSDP_RESULTS_EXCHANGE": f"csdp.results.test-cli-{run}",
        "CSDP_NETWORK_NAME": f"csdp-test-cli-{run}",
        "CSDP_SUBNET_V4": SUBNET_V4,
        "CSDP_SUBNET_V6": SUBNET_V6,
        "CSDP_STAGING_DIR": str(tmp_path_factory.mktemp("staging")),
    }
    built = subprocess.run([CSDP, "images", "build", *SERVICES], env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    worker_name = f"test-cli-{run}@%h"
    worker = _start("worker", ["server", "worker", "--concurrency", "4", "--name", worker_name], env, log_dir)
    api = _start("api", ["server", "api", "--port", str(port), "--log-level", "warning"], env, log_dir)
    try:
        wait_for(lambda: " ready." in worker.log() or worker.process.poll() is not None, START_TIMEOUT, what="worker")
        worker.check_running()
        wait_for(lambda: _healthy(url) or api.process.poll() is not None, START_TIMEOUT, what="API healthy")
        api.check_running()
        yield Stack(url, env, api, worker)
    finally:
        api.stop()
        worker.stop()
        _delete_broker_objects(env)
        _remove_network(env)


@pytest.fixture
def cli_user(cli_stack, owner) -> str:
    """A user named like the test's owner; returns its token and removes the user afterwards."""
    from csdp.workflows.users import add_user, remove_user

    _, token = add_user(owner)
    yield token
    remove_user(owner)


@pytest.fixture
def csdp(cli_stack, cli_user, tmp_path) -> Cli:
    """``csdp`` as the test user, with pushed results over AMQP and private config and cache folders."""
    env = {
        **cli_stack.env,
        "CSDP_URL": cli_stack.url,
        "CSDP_TOKEN": cli_user,
        "CSDP_AMQP_URL": AMQP_URL,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    cli = Cli(env)
    yield cli
    # Leftovers of a failed test are removed here as the user, and by the session cleanup by label.
    cli("all", "delete", timeout=120)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Show the API and worker logs under a failing test."""
    report = yield
    stack = getattr(item, "funcargs", {}).get("cli_stack")
    if report.when == "call" and report.failed and isinstance(stack, Stack):
        report.sections.append(("API log", stack.api.log()[-4000:]))
        report.sections.append(("worker log", stack.worker.log()[-4000:]))
    return report
