"""Fixtures of the test_client tests: an API reachable from containers, workers, beats and an SMTP server.

Processes come from ``stack_testing`` and users from the API tests' conftest.
This folder's ``api_env`` has a network and queue prefix of its own, and the
API listens on the network's gateway address, since scripts in test_client
containers call it. Beat runs only the schedule dispatcher here:
housekeeping is pushed far out, because on a shared engine it would remove
other deployments' containers as orphans.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import sys
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from schedule_testing import DISPATCH_PERIOD_SECONDS, MAX_SCHEDULES
from stack_testing import ServerProcess, free_port, private_settings, private_subnets, worker_command, worker_ready

_API_CONFTEST = Path(__file__).resolve().parent.parent / "api" / "conftest.py"
_spec = importlib.util.spec_from_file_location("csdp_api_test_fixtures", _API_CONFTEST)
api_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_fixtures)

# Reused by name; it takes this folder's api_env.
make_user = api_fixtures.make_user

START_TIMEOUT = 30
IMAGES = ["test_client", "webhook"]


@pytest.fixture(scope="module")
def api_env(tmp_path_factory):
    """Private queues, network and staging folder, set in this process and returned for the subprocesses."""
    run = uuid.uuid4().hex[:8]
    env = {
        "CSDP_QUEUE_PREFIX": f"test-tc-{run}-",
        "CSDP_RESULTS_EXCHANGE": f"csdp.results.test-tc-{run}",
        "CSDP_NETWORK_NAME": f"csdp-test-tc-{run}",
        **private_subnets(),
        "CSDP_STAGING_DIR": str(tmp_path_factory.mktemp("staging")),
        "CSDP_SERVICES_PATH": json.dumps([]),
        "CSDP_SCHEDULE_INTERVAL_SECONDS": str(DISPATCH_PERIOD_SECONDS),
        "CSDP_MAX_SCHEDULES_PER_USER": str(MAX_SCHEDULES),
        "CSDP_HOUSEKEEPING_INTERVAL_SECONDS": str(10**9),
    }
    yield from private_settings(env)


@pytest.fixture(scope="module")
def runtime(api_env):
    """The Docker runtime on this session's network; its containers and the network are removed at the end."""
    from csdp.runtime.docker_backend import DockerRuntime
    from csdp.settings import get_settings

    backend = DockerRuntime(get_settings())
    backend.ensure_network()
    yield backend
    for info in backend.list():
        if info.owner.startswith(os.environ["CSDP_TEST_SESSION_PREFIX"]):
            backend.remove(info.id)
    backend.remove_network()


@pytest.fixture(scope="module")
def images(api_env):
    from csdp.catalog import load_catalog
    from csdp.runtime.images import build_service_images
    from csdp.settings import get_settings

    return build_service_images(load_catalog(), get_settings(), names=IMAGES)


class Mailbox:
    """Messages received by an aiosmtpd server on loopback."""

    def __init__(self) -> None:
        self.messages: list = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def about(self, job_id: str) -> list:
        with self._lock:
            return [message for message in self.messages if job_id in message["Subject"]]


@pytest.fixture(scope="module")
def mailbox():
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="module")
def api_url(api_env, runtime, images, tmp_path_factory):
    """The API on the gateway address of the service network, so containers reach it."""
    host = str(ipaddress.ip_network(api_env["CSDP_SUBNET_V4"])[1])
    port = free_port()
    url = f"http://{host}:{port}"
    command = [sys.executable, "-m", "uvicorn", "csdp.api:create_app", "--factory",
               "--host", host, "--port", str(port), "--log-level", "info"]  # fmt: skip

    def healthy(_: ServerProcess) -> bool:
        try:
            return httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    log_path = tmp_path_factory.mktemp("logs") / "api.log"
    process = ServerProcess("api", command, {**os.environ, **api_env}, log_path).start(healthy, START_TIMEOUT)
    yield url
    process.stop()


@pytest.fixture
def platform(api_env, api_url, mailbox, tmp_path, request):
    """Return a function that starts a worker and ``beats`` beat processes; all stop after the test."""
    processes: list = []
    env = {
        **os.environ,
        **api_env,
        "CSDP_SMTP_HOST": "127.0.0.1",
        "CSDP_SMTP_PORT": str(mailbox.port),
        "CSDP_PUBLIC_URL": api_url,
        "CSDP_CONTAINER_API_URL": api_url,
    }
    prefix = api_env["CSDP_QUEUE_PREFIX"]

    def start(beats: int = 1) -> ServerProcess:
        name = f"{prefix}{uuid.uuid4().hex[:6]}@%h"
        worker = ServerProcess("worker", worker_command(prefix, name), env, tmp_path / "worker.log")
        processes.append(worker)
        worker.start(worker_ready, START_TIMEOUT)
        for index in range(beats):
            command = [sys.executable, "-m", "celery", "-A", "csdp.workflows.app", "beat",
                       "-s", str(tmp_path / f"beat{index}-schedule"), "--loglevel", "INFO"]  # fmt: skip
            beat = ServerProcess(f"beat{index}", command, env, tmp_path / f"beat{index}.log")
            processes.append(beat)
            beat.start(lambda server: "beat: Starting" in server.log_since_start(), START_TIMEOUT)
        return worker

    yield start

    for process in reversed(processes):
        process.stop()
    report = getattr(request.node, "test_client_report", None)
    if report is not None and report.failed:
        for process in processes:
            print(f"--- {process.name} log\n{process.log()[-4000:]}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.test_client_report = report
    return report


@pytest.fixture
def user(api_url, make_user, runtime):
    """A user of its own for one test: ``(name, httpx client)``; its schedules and containers are removed afterwards."""
    name, client = make_user(api_url)
    yield name, client
    for schedule in client.get("/schedules").json():
        client.delete(f"/schedules/{schedule['id']}")
    for info in runtime.list(owner=name):
        runtime.remove(info.id)
