"""Fixtures for the syslog, snmptrapd and webhook tests: their images, a private network and replicas."""

from __future__ import annotations

from typing import Callable

import pytest

from csdp.runtime.base import ContainerInfo
from service_testing import ReplicaStarter, build_images, private_runtime

SERVICES = ["syslog", "snmptrapd", "webhook"]
NETWORK = "csdp-test-services"
SUBNET_V4 = "10.221.0.0/24"
SUBNET_V6 = "fd5c:5d9e:21::/64"


@pytest.fixture(scope="session")
def service_images(catalog) -> dict[str, str]:
    return build_images(catalog, SERVICES)


@pytest.fixture(scope="session")
def runtime(service_images):
    yield from private_runtime(NETWORK, SUBNET_V4, SUBNET_V6)


@pytest.fixture
def start_service(runtime, catalog, owner) -> Callable[..., list[ContainerInfo]]:
    """Return a function that starts replicas of a service and waits until they are ready; all are removed after the test."""
    starter = ReplicaStarter(runtime, catalog, owner)

    def start(name: str, replicas: int = 1, parameters: dict | None = None) -> list[ContainerInfo]:
        return starter.start(name, parameters, replicas=replicas)

    yield start
    starter.remove_all()
