"""Helpers for service tests: images, a private network, and replicas started as a start job starts them.

Each test folder keeps its own network, so one folder's teardown never
removes a network another folder is still using.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import socket
import tarfile
import time
import uuid
from dataclasses import replace
from typing import Any, Iterator

from csdp.catalog import Catalog, check_parameters
from csdp.runtime.base import ContainerInfo, ExecResult, LogLine, Runtime
from csdp.runtime.docker_backend import DockerRuntime
from csdp.runtime.images import build_service_images
from csdp.settings import Settings, get_settings
from csdp.workflows.specs import build_spec, readiness_of
from csdp.workflows.tasks import parse_output, render_command

log = logging.getLogger(__name__)


def build_images(catalog: Catalog, names: list[str]) -> dict[str, str]:
    """Build the images of ``names`` (unchanged ones are skipped) and return them by service."""
    results = build_service_images(catalog, get_settings(), names=names, progress=log.debug)
    for result in results:
        log.info("image %s: built=%s skipped=%s in %.1f s", result.image, result.built, result.skipped, result.seconds)
    return {result.service: result.image for result in results}


def private_runtime(network: str, subnet_v4: str, subnet_v6: str) -> Iterator[DockerRuntime]:
    """Yield a runtime on its own network; this session's containers and the network are removed afterwards."""
    backend = DockerRuntime(Settings(network_name=network, subnet_v4=subnet_v4, subnet_v6=subnet_v6))
    backend.ensure_network()
    yield backend
    for info in backend.list():
        if info.owner.startswith(os.environ["CSDP_TEST_SESSION_PREFIX"]):
            backend.remove(info.id)
    backend.remove_network()


def wait_for_host_address(address: str, timeout: float = 10.0) -> None:
    """Wait until this host's IPv6 address on a new network has passed duplicate address detection.

    The check starts once the bridge has a container attached. While the address
    is tentative, the kernel sends from another bridge's address, and services
    that check their clients' networks reject that sender.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
                probe.bind((address, 0))
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class ReplicaStarter:
    """Starts replicas the way a start job does and removes them all at the end of a test."""

    def __init__(self, runtime: DockerRuntime, catalog: Catalog, owner: str) -> None:
        self.runtime = runtime
        self.catalog = catalog
        self.owner = owner
        self.created: list[str] = []

    def start(
        self,
        name: str,
        parameters: dict | None = None,
        *,
        replicas: int = 1,
        uploads: dict[str, bytes] | None = None,
        **overrides: Any,
    ) -> list[ContainerInfo]:
        """Start ``replicas`` replicas and wait until each is ready.

        ``uploads`` maps a container directory to a tar archive put there
        before the start, as the upload step of a start job does.
        ``overrides`` replaces fields of the derived spec, such as ``shm_size``.
        """
        service = self.catalog.get(name)
        values = check_parameters(service.manifest.parameters, parameters)
        job_id = uuid.uuid4().hex
        ready = []
        for replica in range(replicas):
            spec = build_spec(service, owner=self.owner, job_id=job_id, replica=replica, parameters=values, expires_at=None)
            info = self.runtime.create(replace(spec, **overrides) if overrides else spec)
            self.created.append(info.id)
            for directory, archive in (uploads or {}).items():
                self.runtime.put_files(info.id, directory, archive)
            self.runtime.connect_network(info.id)
            self.runtime.start(info.id)
            ready.append(self.runtime.wait_ready(info.id, readiness_of(service.manifest)))
        wait_for_host_address(str(ipaddress.ip_network(self.runtime.settings.subnet_v6)[1]))
        return ready

    def remove_all(self) -> None:
        for container_id in self.created:
            self.runtime.remove(container_id)


def run_action(
    runtime: DockerRuntime, catalog: Catalog, container: ContainerInfo, name: str, parameters: dict | None = None
) -> tuple[ExecResult, Any]:
    """Run a manifest action in one container as an action job does; return the result and the parsed output."""
    action = catalog.get(container.service).manifest.action(name)
    assert action is not None, f"service {container.service} has no action {name}"
    command = render_command(action.command, check_parameters(action.parameters, parameters))
    result = runtime.exec(container.id, command, timeout=action.timeout_seconds)
    return result, parse_output(action.output, result.stdout.decode(), result.stderr.decode())


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


def output_of(runtime: Runtime, container_id: str) -> str:
    """Return everything the container wrote to stdout and stderr so far."""
    return "\n".join(line.text for line in runtime.logs(container_id) if isinstance(line, LogLine))


def wait_for_output(runtime: Runtime, container_id: str, text: str, timeout: float = 5.0) -> str:
    """Return the container output once it contains ``text``, or the output so far after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        output = output_of(runtime, container_id)
        if text in output or time.monotonic() > deadline:
            return output
        time.sleep(0.1)
