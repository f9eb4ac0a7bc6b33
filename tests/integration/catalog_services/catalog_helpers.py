"""Helpers for the catalog service tests: actions, uploads and container output."""

from __future__ import annotations

import io
import tarfile
import time

from csdp.catalog import Catalog, check_parameters
from csdp.errors import NotFound
from csdp.runtime.base import ExecResult, LogLine, Runtime
from csdp.workflows.tasks import render_command


def tar_of(files: dict[str, bytes]) -> io.BytesIO:
    """Return an uncompressed tar of ``files`` (name to content), each readable by every user."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(name)
            member.size = len(content)
            member.mode = 0o644
            member.mtime = int(time.time())
            archive.addfile(member, io.BytesIO(content))
    buffer.seek(0)
    return buffer


def run_action(runtime: Runtime, catalog: Catalog, service: str, container_id: str, name: str, **parameters) -> ExecResult:
    """Run a manifest action in the container, with its placeholders filled as an action job fills them."""
    action = catalog.get(service).manifest.action(name)
    assert action is not None, f"service {service} has no action {name}"
    command = render_command(action.command, check_parameters(action.parameters, parameters))
    return runtime.exec(container_id, command, timeout=action.timeout_seconds)


def upload(runtime: Runtime, container_id: str, directory: str, files: dict[str, bytes]) -> None:
    runtime.put_files(container_id, directory, tar_of(files))


def output_of(runtime: Runtime, container_id: str) -> str:
    """Return everything the container wrote to stdout and stderr so far."""
    return "\n".join(line.text for line in runtime.logs(container_id) if isinstance(line, LogLine))


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
