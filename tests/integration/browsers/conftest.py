"""Fixtures for the browser services: their images, a private network and replicas started as a start job does."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from csdp.runtime.base import ContainerInfo, ExecResult
from service_testing import ReplicaStarter, build_images, private_runtime, run_action as run_service_action

# The page the browser reads comes from a webhook container on the same network.
SERVICES = ["chrome", "webhook"]
NETWORK = "csdp-test-browsers"
SUBNET_V4 = "10.223.0.0/24"
SUBNET_V6 = "fd5c:5d9e:23::/64"


@pytest.fixture(scope="session")
def service_images(catalog) -> dict[str, str]:
    return build_images(catalog, SERVICES)


@pytest.fixture(scope="session")
def runtime(service_images):
    yield from private_runtime(NETWORK, SUBNET_V4, SUBNET_V6)


@pytest.fixture
def start_service(runtime, catalog, owner) -> Callable[..., ContainerInfo]:
    """Return a function that starts one replica the way a start job does and waits until it is ready.

    ``overrides`` replaces fields of the derived spec, such as ``shm_size``, to
    start a replica the manifest would not give. Every replica is removed after the test.
    """
    starter = ReplicaStarter(runtime, catalog, owner)

    def start(name: str, parameters: dict | None = None, **overrides: Any) -> ContainerInfo:
        return starter.start(name, parameters, **overrides)[0]

    yield start
    starter.remove_all()


@pytest.fixture
def run_action(runtime, catalog) -> Callable[..., ExecResult]:
    """Return a function that runs a service action in a container as the action job does."""

    def run(container: ContainerInfo, name: str, parameters: dict | None = None) -> ExecResult:
        return run_service_action(runtime, catalog, container, name, parameters)[0]

    return run
