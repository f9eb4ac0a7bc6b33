"""Helpers for the catalog service tests: actions, uploads and container output."""

from __future__ import annotations

from csdp.catalog import Catalog, check_parameters
from csdp.errors import NotFound
from csdp.runtime.base import ExecResult, Runtime
from csdp.workflows.tasks import render_command
from service_testing import output_of, tar_of

__all__ = ["assert_removed_cleanly", "output_of", "run_action", "tar_of", "upload"]


def run_action(runtime: Runtime, catalog: Catalog, service: str, container_id: str, name: str, **parameters) -> ExecResult:
    """Run a manifest action in the container, with its placeholders filled as an action job fills them."""
    action = catalog.get(service).manifest.action(name)
    assert action is not None, f"service {service} has no action {name}"
    command = render_command(action.command, check_parameters(action.parameters, parameters))
    return runtime.exec(container_id, command, timeout=action.timeout_seconds)


def upload(runtime: Runtime, container_id: str, directory: str, files: dict[str, bytes]) -> None:
    runtime.put_files(container_id, directory, tar_of(files))


def assert_removed_cleanly(runtime: Runtime, engine, container_id: str, owner: str) -> None:
    """Remove the container and check that nothing of it is left: no container and no volume."""
    mounts = engine.containers.get(container_id).attrs["Mounts"]
    runtime.remove(container_id)

    assert mounts == [], f"the container had mounts that removal could leave behind: {mounts}"
    assert container_id not in [info.id for info in runtime.list(owner=owner)]
    try:
        runtime.info(container_id)
    except NotFound:
        pass
    else:
        raise AssertionError(f"container {container_id} still exists after removal")
