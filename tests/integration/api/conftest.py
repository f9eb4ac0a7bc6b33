"""Fixtures of the API integration tests: a real API server and Celery worker over private queues.

The server (uvicorn) and the worker run as subprocesses with the same
``CSDP_*`` environment: a queue prefix, results exchange, network and staging
folder of this session only, so nothing here touches other test runs.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import httpx
import pytest
from stack_testing import ServerProcess, api_server, private_settings, private_subnets, worker_command, worker_ready

SERVICES = ["syslog", "webhook"]
START_TIMEOUT = 30
UPLOAD_LIMIT_BYTES = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def api_env(tmp_path_factory):
    """Set the private settings in this process and return them for the subprocesses."""
    run = uuid.uuid4().hex[:8]
    staging = tmp_path_factory.mktemp("staging")
    env = {
        "CSDP_QUEUE_PREFIX": f"test-api-{run}-",
        "CSDP_RESULTS_EXCHANGE": f"csdp.results.test-api-{run}",
        "CSDP_NETWORK_NAME": f"csdp-test-api-{run}",
        **private_subnets(),
        "CSDP_STAGING_DIR": str(staging),
        "CSDP_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT_BYTES),
        "CSDP_SERVICES_PATH": json.dumps([]),
    }
    yield from private_settings(env)


@pytest.fixture(scope="module")
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


@pytest.fixture(scope="module")
def service_images(api_env):
    from csdp.catalog import load_catalog
    from csdp.runtime.images import build_service_images
    from csdp.settings import get_settings

    results = build_service_images(load_catalog(), get_settings(), names=SERVICES)
    return {result.service: result.image for result in results}


@pytest.fixture(scope="module")
def worker(api_env, runtime, service_images, tmp_path_factory):
    from csdp.settings import get_settings

    prefix = get_settings().queue_prefix
    command = worker_command(prefix, f"{prefix}worker@%h")
    log_path = tmp_path_factory.mktemp("logs") / "worker.log"
    process = ServerProcess("worker", command, {**os.environ, **api_env}, log_path).start(worker_ready, START_TIMEOUT)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api_url(api_env, runtime, tmp_path_factory):
    """Base URL of a uvicorn server running the API on a free loopback port."""
    url, process = api_server(api_env, tmp_path_factory.mktemp("logs") / "api.log")
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
        name = f"{os.environ['CSDP_TEST_SESSION_PREFIX']}api-{uuid.uuid4().hex[:8]}"
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
