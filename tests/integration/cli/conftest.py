"""Fixtures of the CLI integration tests: a real API and worker as subprocesses, and a test user.

The API and the worker are started with ``csdp server api`` and ``csdp server
worker``, so those commands are tested too. Each session uses its own queue
prefix and results exchange, so workers of other test runs never take its tasks.
"""

from __future__ import annotations

import subprocess
import urllib.request
import uuid
from dataclasses import dataclass

import pytest
from cli_helpers import CSDP, Cli, environment_without_csdp_client
from stack_testing import ServerProcess, free_port, private_settings, private_subnets, worker_ready

START_TIMEOUT = 60
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
SERVICES = ["syslog", "webhook"]


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    api: ServerProcess
    worker: ServerProcess


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


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


@pytest.fixture(scope="module")
def cli_stack(tmp_path_factory) -> Stack:
    """Build the images, start a worker and the API on a free port; stop and remove it all after the session."""
    run = uuid.uuid4().hex[:8]
    log_dir = tmp_path_factory.mktemp("cli-servers")
    private = {
        "CSDP_QUEUE_PREFIX": f"test-cli-{run}-",
        "CSDP_RESULTS_EXCHANGE": f"csdp.results.test-cli-{run}",
        "CSDP_NETWORK_NAME": f"csdp-test-cli-{run}",
        **private_subnets(),
        "CSDP_STAGING_DIR": str(tmp_path_factory.mktemp("staging")),
    }
    settings = private_settings(private)
    env = {**environment_without_csdp_client(), **next(settings)}
    built = subprocess.run([CSDP, "images", "build", *SERVICES], env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    worker_args = ["server", "worker", "--concurrency", "4", "--name", f"test-cli-{run}@%h"]
    worker = ServerProcess("worker", [CSDP, *worker_args], env, log_dir / "worker.log")
    api_args = ["server", "api", "--port", str(port), "--log-level", "warning"]
    api = ServerProcess("api", [CSDP, *api_args], env, log_dir / "api.log")
    try:
        worker.start(worker_ready, START_TIMEOUT)
        api.start(lambda _: _healthy(url), START_TIMEOUT)
        yield Stack(url, env, api, worker)
    finally:
        api.stop()
        worker.stop()
        _remove_network(env)
        next(settings, None)


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
