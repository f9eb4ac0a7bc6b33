"""Fixtures shared by the integration test folders."""

from __future__ import annotations

import docker
import pytest

from csdp.catalog import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def engine() -> docker.DockerClient:
    """The SDK client, for checks the runtime interface does not expose (capabilities, restart count, mounts)."""
    client = docker.from_env(timeout=30)
    yield client
    client.close()
