"""Fixtures for the browser services: their images, a private network and replicas started as a start job does."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import replace
from typing import Any, Callable

import pytest

from csdp.catalog import Catalog, check_parameters, load_catalog
from csdp.runtime.base import ContainerInfo, ExecResult
from csdp.runtime.docker_backend import DockerRuntime
from csdp.runtime.images import build_service_images
from csdp.settings import Settings, get_settings
from csdp.workflows.specs import build_spec, readiness_of
from csdp.workflows.tasks import render_command

log = logging.getLogger(__name__)

# The page the browser reads comes from a webhook container on the same network.
SERVICES = ["chrome", "webhook"]
# A network of its own, so these tests never remove one that other tests use.
NETWORK = "csdp-test-browsers"
SUBNET_V4 = "10.223.0.0/24"
SUBNET_V6 = "fd5c:5d9e:23::/64"


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


@pytest.fixture
def start_service(runtime, catalog, service_images, owner) -> Callable[..., ContainerInfo]:
    """Return a function that starts one replica the way a start job does and waits until it is ready.

    ``overrides`` replaces fields of the derived spec, such as ``shm_size``, to
    start a replica the manifest would not give. Every replica is removed after the test.
    """
    created: list[str] = []

    def start(name: str, parameters: dict | None = None, **overrides: Any) -> ContainerInfo:
        service = catalog.get(name)
        values = check_parameters(service.manifest.parameters, parameters)
        spec = build_spec(service, owner=owner, job_id=uuid.uuid4().hex, replica=0, parameters=values, expires_at=None)
        info = runtime.create(replace(spec, image=service_images[name], **overrides))
        created.append(info.id)
        runtime.connect_network(info.id)
        runtime.start(info.id)
        return runtime.wait_ready(info.id, readiness_of(service.manifest))

    yield start
    for container_id in created:
        runtime.remove(container_id)


@pytest.fixture
def run_action(runtime, catalog) -> Callable[..., ExecResult]:
    """Return a function that runs a service action in a container as the action job does."""

    def run(container: ContainerInfo, name: str, parameters: dict | None = None) -> ExecResult:
        action = catalog.get(container.service).manifest.action(name)
        command = render_command(action.command, check_parameters(action.parameters, parameters))
        return runtime.exec(container.id, command, timeout=action.timeout_seconds)

    return run
