"""Deployments sharing one engine see and control only their own containers."""

from __future__ import annotations

import pytest

from csdp.errors import NotFound
from csdp.runtime.docker_backend import DockerRuntime

pytestmark = pytest.mark.integration


@pytest.fixture
def other_runtime(settings) -> DockerRuntime:
    return DockerRuntime(settings.model_copy(update={"deployment": "test-other"}))


def test_deployments_apart(runtime, other_runtime, make_spec, start_container, owner):
    ours = start_container()
    theirs = other_runtime.create(make_spec(1))
    try:
        other_runtime.start(theirs.id)
        assert [info.id for info in runtime.list(owner=owner)] == [ours.id]
        assert [info.id for info in other_runtime.list(owner=owner)] == [theirs.id]
        with pytest.raises(NotFound):
            runtime.info(theirs.id)
        with pytest.raises(NotFound):
            other_runtime.info(ours.id)
        # Addresses are still unique across deployments on one network.
        assert other_runtime.info(theirs.id).ip_address != ours.ip_address
    finally:
        other_runtime.remove(theirs.id)
