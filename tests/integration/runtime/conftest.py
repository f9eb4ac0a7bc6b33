"""Fixtures for runtime tests: a test image, a private network and container factories."""

from __future__ import annotations

import io
import uuid
from typing import Callable

import docker
import pytest

from csdp.runtime.base import LABEL_MANAGED, ContainerInfo, ContainerSpec, PortSpec
from csdp.runtime.docker_backend import DockerRuntime
from csdp.settings import Settings

TEST_IMAGE = "csdp-test/plain:latest"
# A network of its own, so these tests never remove one that other tests use.
NETWORK = "csdp-test-runtime"
SUBNET_V4 = "10.219.0.0/24"
SUBNET_V6 = "fd5c:5d9e:19::/64"

DOCKERFILE = b"""FROM csdp/debian:bookworm
CMD ["sleep", "infinity"]
"""


@pytest.fixture(scope="session")
def test_image() -> str:
    """Build the plain test image, which adds nothing to the base image but its command."""
    client = docker.from_env(timeout=120)
    client.images.build(fileobj=io.BytesIO(DOCKERFILE), tag=TEST_IMAGE, rm=True)
    return TEST_IMAGE


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(network_name=NETWORK, subnet_v4=SUBNET_V4, subnet_v6=SUBNET_V6)


@pytest.fixture(scope="session")
def runtime(settings, test_image) -> DockerRuntime:
    """A runtime on the private test network, which is removed after the session."""
    backend = DockerRuntime(settings)
    backend.ensure_network()
    yield backend
    # Containers a failed test left on this network would keep it from being removed.
    leftovers = docker.from_env().api.containers(all=True, filters={"network": NETWORK, "label": LABEL_MANAGED})
    for summary in leftovers:
        backend.remove(summary["Id"])
    backend.remove_network()


@pytest.fixture
def make_spec(owner, test_image) -> Callable[..., ContainerSpec]:
    """Return a factory of specs for the test owner; keyword arguments override fields."""
    job_id = uuid.uuid4().hex

    def build(replica: int = 0, **overrides) -> ContainerSpec:
        fields = {
            "service": "plain",
            "owner": owner,
            "job_id": job_id,
            "replica": replica,
            "image": test_image,
            "ports": (PortSpec(514, "udp", "syslog"),),
            "memory": "128m",
            "pids": 64,
        }
        fields.update(overrides)
        return ContainerSpec(**fields)

    return build


@pytest.fixture
def start_container(runtime, make_spec) -> Callable[..., ContainerInfo]:
    """Return a function that creates and starts a container; every one is removed after the test."""
    created: list[str] = []

    def start(replica: int = 0, **overrides) -> ContainerInfo:
        info = runtime.create(make_spec(replica, **overrides))
        created.append(info.id)
        return runtime.start(info.id)

    yield start
    for container_id in created:
        runtime.remove(container_id)


@pytest.fixture
def running(start_container) -> ContainerInfo:
    """One running container of the plain test image."""
    return start_container()
