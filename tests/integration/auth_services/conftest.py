"""Fixtures for the radius and tacacs services: their images, a private network, replicas and actions."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from csdp.runtime.base import ContainerInfo
from service_testing import ReplicaStarter, build_images, private_runtime, run_action as run_service_action

SERVICES = ["radius", "tacacs"]
NETWORK = "csdp-test-auth"
SUBNET_V4 = "10.226.0.0/24"
SUBNET_V6 = "fd5c:5d9e:26::/64"


@pytest.fixture(scope="session")
def service_images(catalog) -> dict[str, str]:
    return build_images(catalog, SERVICES)


@pytest.fixture(scope="session")
def runtime(service_images):
    yield from private_runtime(NETWORK, SUBNET_V4, SUBNET_V6)


@pytest.fixture
def start_service(runtime, catalog, owner) -> Callable[..., ContainerInfo]:
    """Return a function that starts one replica as a start job does and waits until it is ready; all are removed after the test."""
    starter = ReplicaStarter(runtime, catalog, owner)

    def start(name: str, parameters: dict | None = None) -> ContainerInfo:
        return starter.start(name, parameters)[0]

    yield start
    starter.remove_all()


@pytest.fixture
def run_action(runtime, catalog) -> Callable[..., tuple[int, Any]]:
    """Return a function that runs a manifest action as an action job does and returns its exit code and parsed output."""

    def run(info: ContainerInfo, action_name: str, /, **parameters) -> tuple[int, Any]:
        result, output = run_service_action(runtime, catalog, info, action_name, parameters)
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

