"""Fixtures for the snmp, ntp, httpmock and ldap services: their images, a private network and replicas."""

from __future__ import annotations

from typing import Callable

import pytest

from csdp.runtime.base import ContainerInfo
from service_testing import ReplicaStarter, build_images, private_runtime, tar_of

SERVICES = ["snmp", "ntp", "httpmock", "ldap"]
NETWORK = "csdp-test-catalog"
SUBNET_V4 = "10.222.0.0/24"
SUBNET_V6 = "fd5c:5d9e:22::/64"


@pytest.fixture(scope="session")
def service_images(catalog) -> dict[str, str]:
    return build_images(catalog, SERVICES)


@pytest.fixture(scope="session")
def runtime(service_images):
    yield from private_runtime(NETWORK, SUBNET_V4, SUBNET_V6)


@pytest.fixture
def start_service(runtime, catalog, owner) -> Callable[..., ContainerInfo]:
    """Return a function that starts one replica the way a start job does and waits until it is ready.

    ``uploads`` maps a directory in the container to files put there before the
    start, as the upload step of a start job does. Every replica is removed
    after the test.
    """
    starter = ReplicaStarter(runtime, catalog, owner)

    def start(name: str, parameters: dict | None = None, uploads: dict[str, dict[str, bytes]] | None = None) -> ContainerInfo:
        archives = {directory: tar_of(files) for directory, files in (uploads or {}).items()}
        return starter.start(name, parameters, uploads=archives)[0]

    yield start
    starter.remove_all()
