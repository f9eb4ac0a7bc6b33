"""The compose stack of the end-to-end deployment tests, brought up once per module with the real CLI.

It runs under its own compose project name, state folder, host ports, service
network and subnets, so it never meets a developer's stack or the test API of
other suites. Teardown removes the project with its volumes, the service
containers it started (by owner label) and its service network.
"""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import sys
import uuid

import docker
import pytest

from csdp.runtime.base import LABEL_OWNER
from deploy_helpers import COMMAND_TIMEOUT_SECONDS, Stack, free_port

UP_TIMEOUT_SECONDS = 900


def pytest_configure(config):
    config.addinivalue_line("markers", "deploy: brings up the docker-compose stack (takes minutes)")


def _csdp(arguments: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "csdp.cli.main", *arguments], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _free_subnets(engine: docker.DockerClient) -> tuple[str, str]:
    """Return an IPv4 and an IPv6 subnet that overlap no network on the engine, so the stack's network can be created."""
    taken = []
    for network in engine.networks.list():
        for pool in (network.attrs.get("IPAM") or {}).get("Config") or []:
            if pool.get("Subnet"):
                taken.append(ipaddress.ip_network(pool["Subnet"]))
    octets = list(range(160, 200))
    random.shuffle(octets)
    for octet in octets:
        candidates = (ipaddress.ip_network(f"10.{octet}.0.0/24"), ipaddress.ip_network(f"fd5c:5d9e:e{octet:x}::/64"))
        if not any(candidate.version == other.version and candidate.overlaps(other) for candidate in candidates for other in taken):
            return str(candidates[0]), str(candidates[1])
    pytest.fail("no free subnet among 10.160.0.0/24 to 10.199.0.0/24 on this engine; remove unused networks")


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    """Bring up a stack with 2 API replicas and 2 workers, and remove everything of it afterwards."""
    from csdp.catalog import load_catalog
    from csdp.runtime.images import build_service_images
    from csdp.runtime.network import remove_network
    from csdp.settings import get_settings

    suffix = uuid.uuid4().hex[:6]
    project = f"csdpe2e{suffix}"
    state_dir = tmp_path_factory.mktemp("deploy")
    http_port, flower_port = free_port(), free_port()
    network = f"csdp-e2e-{suffix}"
    admin = f"{os.environ['CSDP_TEST_SESSION_PREFIX']}deploy-{suffix}"
    url = f"http://127.0.0.1:{http_port}"
    engine = docker.from_env(timeout=60)
    subnet_v4, subnet_v6 = _free_subnets(engine)
    build_service_images(load_catalog(get_settings().services_path), get_settings(), names=["syslog"])

    env = {key: os.environ[key] for key in ("PATH", "HOME", "DOCKER_HOST") if key in os.environ}
    env.update(
        CSDP_NETWORK_NAME=network,
        CSDP_SUBNET_V4=subnet_v4,
        CSDP_SUBNET_V6=subnet_v6,
        CSDP_PUBLIC_URL=url,
        # Housekeeping removes every managed container without a job record in
        # its own Redis, which would include containers of other deployments and
        # test sessions on this engine. The tests run its passes themselves,
        # limited to their owner (Stack.reconcile).
        CSDP_HOUSEKEEPING_INTERVAL_SECONDS="86400",
        CSDP_STUCK_JOB_GRACE_SECONDS="20",
        CSDP_WORKER_STOP_GRACE="30s",
    )
    up = [
        "deploy", "up", "--dir", str(state_dir), "--project", project, "--api", "2", "--workers", "2",
        "--http-port", str(http_port), "--flower-port", str(flower_port), "--admin", admin,
        "--skip-service-images", "--timeout", "300",
    ]
    stack = None
    try:
        completed = _csdp(up, env, UP_TIMEOUT_SECONDS)
        if completed.returncode != 0:
            pytest.fail(f"csdp deploy up exited {completed.returncode}:\n{completed.stderr[-4000:]}")
        name, token = (state_dir / "admin.token").read_text().split()
        assert name == admin
        assert token in completed.stdout
        stack = Stack(project, state_dir, url, admin, token, network, env, engine)
        yield stack
    finally:
        _csdp(["deploy", "down", "--volumes", "--dir", str(state_dir), "--project", project], env, COMMAND_TIMEOUT_SECONDS)
        for container in engine.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={admin}"}):
            container.remove(force=True)
        remove_network(engine, network)
        engine.close()

