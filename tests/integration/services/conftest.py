"""Fixtures for service tests: the built-in service images, a private network and a way to start replicas."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Callable

import pytest

from csdp.catalog import Catalog, check_parameters, load_catalog
from csdp.runtime.base import ContainerInfo, ContainerSpec, PortSpec, ReadinessSpec
from csdp.runtime.docker_backend import DockerRuntime
from csdp.runtime.images import build_service_images
from csdp.settings import Settings, get_settings

log = logging.getLogger(__name__)

SERVICES = ["syslog", "snmptrapd", "webhook"]
# A network of its own, so these tests never remove one that other tests use.
NETWORK = "csdp-test-services"
SUBNET_V4 = "10.221.0.0/24"
SUBNET_V6 = "fd5c:5d9e:21::/64"


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


def spec_for(catalog: Catalog, image: str, name: str, owner: str, job_id: str, replica: int, parameters: dict) -> ContainerSpec:
    """Return the spec of one replica as the platform derives it from the manifest."""
    manifest = catalog.get(name).manifest
    values = check_parameters(manifest.parameters, parameters)
    environment = {}
    for parameter in manifest.parameters:
        if parameter.env and parameter.name in values:
            environment[parameter.env] = str(values[parameter.name])
    return ContainerSpec(
        service=name,
        owner=owner,
        job_id=job_id,
        replica=replica,
        image=image,
        environment=environment,
        command=tuple(manifest.command) if manifest.command else None,
        ports=tuple(PortSpec(port.port, port.protocol, port.description) for port in manifest.ports),
        memory=manifest.resources.memory,
        pids=manifest.resources.pids,
        capabilities=tuple(manifest.capabilities),
    )


def readiness_for(catalog: Catalog, name: str) -> ReadinessSpec:
    readiness = catalog.get(name).manifest.readiness
    return ReadinessSpec(
        kind=readiness.kind,
        port=readiness.port,
        protocol=readiness.protocol,
        command=tuple(readiness.command) if readiness.command else None,
        pattern=readiness.pattern,
        timeout_seconds=readiness.timeout_seconds,
    )


@pytest.fixture
def start_service(runtime, catalog, service_images, owner) -> Callable[..., list[ContainerInfo]]:
    """Return a function that starts replicas of a service and waits until they are ready; all are removed after the test."""
    created: list[str] = []

    def start(name: str, replicas: int = 1, parameters: dict | None = None) -> list[ContainerInfo]:
        job_id = uuid.uuid4().hex
        infos = []
        for replica in range(replicas):
            spec = spec_for(catalog, service_images[name], name, owner, job_id, replica, parameters or {})
            info = runtime.create(spec)
            created.append(info.id)
            runtime.connect_network(info.id)
            runtime.start(info.id)
            infos.append(runtime.wait_ready(info.id, readiness_for(catalog, name)))
        return infos

    yield start
    for container_id in created:
        runtime.remove(container_id)
