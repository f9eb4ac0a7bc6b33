"""Fixtures for the dns, scanner and logviewer services: their images, replicas started as a start job
starts them, and the worker fixtures of the workflow tests for the tests that run real jobs.

The replicas run on the default test network, the one ``csdp.runtime.get_runtime()``
and the test worker use, so submission checks and jobs see the same addresses
as the containers started here. Like the workflow tests, this folder leaves
that network in place.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from pathlib import Path
from typing import Callable

import pytest
from service_testing import ReplicaStarter, build_images, run_action as run_manifest_action

from csdp.runtime.base import ContainerInfo, ExecResult

SERVICES = ["dns", "scanner", "logviewer", "webhook"]
_WORKFLOW_CONFTEST = Path(__file__).resolve().parent.parent / "workflows" / "conftest.py"
_spec = importlib.util.spec_from_file_location("csdp_workflow_test_fixtures", _WORKFLOW_CONFTEST)
workflow_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(workflow_fixtures)

# Fixtures reused by name from the workflow tests.
workflow_env = workflow_fixtures.workflow_env
start_worker = workflow_fixtures.start_worker
results = workflow_fixtures.results


@pytest.fixture(scope="module")
def service_images(catalog) -> dict[str, str]:
    return build_images(catalog, SERVICES)


@pytest.fixture(scope="module")
def runtime(service_images):
    """The platform's runtime on the default test network; this session's containers are removed at the end."""
    from csdp.runtime import get_runtime

    backend = get_runtime()
    backend.ensure_network()
    yield backend
    for info in backend.list():
        if info.owner.startswith(os.environ["CSDP_TEST_SESSION_PREFIX"]):
            backend.remove(info.id)


@pytest.fixture
def other_owner(owner) -> str:
    """A second user, whose containers must never show up for ``owner``."""
    return f"{owner[:-6]}{uuid.uuid4().hex[:6]}-other"


@pytest.fixture
def start_service(runtime, catalog, owner, other_owner) -> Callable[..., ContainerInfo]:
    """Return a function that starts one replica the way a start job does and waits until it is ready.

    ``as_other_owner`` starts it for ``other_owner``. Every replica is removed after the test.
    """
    starters = {owner: ReplicaStarter(runtime, catalog, owner), other_owner: ReplicaStarter(runtime, catalog, other_owner)}

    def start(name: str, parameters: dict | None = None, *, as_other_owner: bool = False) -> ContainerInfo:
        return starters[other_owner if as_other_owner else owner].start(name, parameters)[0]

    yield start
    for starter in starters.values():
        starter.remove_all()


@pytest.fixture
def run_action(runtime, catalog) -> Callable[..., ExecResult]:
    """Return a function that runs a service action in a container as the action job does.

    Values of owner_address parameters must already be resolved, as submission leaves them.
    """

    def run(container: ContainerInfo, name: str, values: dict | None = None) -> ExecResult:
        return run_manifest_action(runtime, catalog, container, name, values)[0]

    return run
