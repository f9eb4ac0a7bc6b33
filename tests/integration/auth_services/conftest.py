"""Fixtures for the radius and tacacs services: their images, a private network, replicas and actions."""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from csdp.catalog import Catalog, check_parameters, load_catalog
from csdp.runtime.base import ContainerInfo
from csdp.runtime.docker_backend import DockerRuntime
from csdp.runtime.images import build_service_images
from csdp.settings import Settings, get_settings
from csdp.workflows.specs import build_spec, readiness_of
from csdp.workflows.tasks import parse_output, render_command

# The output helpers live beside the first service tests; pytest puts only this folder on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "services"))

log = logging.getLogger(__name__)

SERVICES = ["radius", "tacacs"]
# A network of its own, so these tests never remove one that other tests use.
NETWORK = "csdp-test-auth"
SUBNET_V4 = "10.226.0.0/24"
SUBNET_V6 = "fd5c:5d9e:26::/64"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def service_images(catalog) -> dict[str, str]:
    """Build the images of the tested services; an unchanged service is not built again."""
    results = build_service_images(catalog, get_settings(), names=SERVICES, progress=log.debug)
    for result in results:
        log.info("image %s: built=%s skipped=%s in %.1f s", result.image, result.built, result.skipped, result.seconds)
    return {result.service: result.image for result in results}


@pytest.fixture(scope="session")
def runtime(service_images) -> DockerRuntime:
    """A runtime on the private test network, which is removed after the session."""
    backend = DockerRuntime(Settings(network_name=NETWORK, subnet_v4=SUBNET_V4, subnet_v6=SUBNET_V6))
    backend.ensure_network()
    yield backend
    for info in backend.list():
        if info.owner.startswith(os.environ["CSDP_TEST_SESSION_PREFIX"]):
            backend.remove(info.id)
    backend.remove_network()


def wait_for_host_address(address: str, timeout: float = 10.0) -> None:
    """Wait until this host's IPv6 address on the network has passed duplicate address detection.

    The check starts once the bridge has a container attached, because before that
    the bridge has no carrier. While the address is tentative, the kernel picks a
    source address of another bridge for packets to the network, and the services
    reject that sender.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
                probe.bind((address, 0))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def start_service(runtime, catalog, service_images, owner) -> Callable[..., ContainerInfo]:
    """Return a function that starts one replica as a start job does and waits until it is ready; all are removed after the test."""
    created: list[str] = []

    def start(name: str, parameters: dict | None = None) -> ContainerInfo:
        service = catalog.get(name)
        values = check_parameters(service.manifest.parameters, parameters)
        spec = build_spec(service, owner=owner, job_id=uuid.uuid4().hex, replica=0, parameters=values, expires_at=None)
        info = runtime.create(spec)
        created.append(info.id)
        runtime.connect_network(info.id)
        runtime.start(info.id)
        ready = runtime.wait_ready(info.id, readiness_of(service.manifest))
        wait_for_host_address(str(ipaddress.ip_network(SUBNET_V6)[1]))
        return ready

    yield start
    for container_id in created:
        runtime.remove(container_id)


@pytest.fixture
def run_action(runtime, catalog) -> Callable[..., tuple[int, Any]]:
    """Return a function that runs a manifest action as an action job does and returns its exit code and parsed output."""

    def run(info: ContainerInfo, action_name: str, /, **parameters) -> tuple[int, Any]:
        action = catalog.get(info.service).manifest.action(action_name)
        assert action is not None, f"service {info.service} has no action {action_name}"
        command = render_command(action.command, check_parameters(action.parameters, parameters))
        result = runtime.exec(info.id, command, timeout=action.timeout_seconds)
        output = parse_output(action.output, result.stdout.decode(), result.stderr.decode())
        return result.exit_code, output

    return run


@pytest.fixture
def user_secrets(run_action) -> Callable[[ContainerInfo], dict[str, str]]:
    """Return a function that reads every user's TOTP secret with the list_users action."""

    def secrets_of(info: ContainerInfo) -> dict[str, str]:
        exit_code, output = run_action(info, "list_users")
        assert exit_code == 0, output
        return {user["name"]: user["secret"] for user in output}

    return secrets_of

