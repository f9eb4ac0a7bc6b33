"""The Docker backend of the runtime interface.

With ``csdp.runtime.images`` this is the only module family that imports the
Docker SDK. Engine errors become csdp errors in ``engine_errors``; each
concept (names, labels, archives, logs, exec, readiness, network) has its own module.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from datetime import datetime, timezone
from typing import BinaryIO, Iterator

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig

from csdp.errors import Conflict, NotFound, RuntimeFailure
from csdp.runtime import execs, logstream, network
from csdp.runtime import readiness as readiness_checks
from csdp.runtime.archive import check_archive, files_tar
from csdp.runtime.base import (
    LABEL_JOB,
    LABEL_MANAGED,
    LABEL_OWNER,
    LABEL_REPLICA,
    LABEL_SERVICE,
    ContainerInfo,
    ContainerSpec,
    ExecOutput,
    ExecResult,
    LogEnd,
    LogLine,
    NetworkInfo,
    ReadinessSpec,
    Runtime,
)
from csdp.runtime.engine_errors import engine_errors, translate
from csdp.runtime.labels import build_labels, info_from_inspect, info_from_summary
from csdp.runtime.names import container_name, short_id
from csdp.settings import Settings

log = logging.getLogger(__name__)

# Go's os.ModeDir bit in the mode of the engine's path stat.
GO_MODE_DIR = 1 << 31
ENGINE_TIMEOUT_SECONDS = 60
# How long a name conflict may point at a container that cannot be inspected yet, in seconds.
NAME_RESERVED_WAIT_SECONDS = 5.0
# Bounds the engine's log file per container: 3 files of 10 MB.
LOG_CONFIG = LogConfig(type=LogConfig.types.JSON, config={"max-size": "10m", "max-file": "3"})


class DockerRuntime(Runtime):
    """Runtime on one Docker engine; safe to share between threads."""

    def __init__(self, settings: Settings, client: docker.DockerClient | None = None) -> None:
        self.settings = settings
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> docker.DockerClient:
        """The SDK client, connected on first use so that a down engine fails calls, not construction."""
        with self._lock:
            if self._client is None:
                with engine_errors("connection"):
                    # Each worker thread and each followed log uses a connection of its own.
                    pool_size = max(10, 2 * self.settings.worker_concurrency)
                    if self.settings.docker_host:
                        self._client = docker.DockerClient(
                            base_url=self.settings.docker_host, timeout=ENGINE_TIMEOUT_SECONDS, max_pool_size=pool_size
                        )
                    else:
                        self._client = docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS, max_pool_size=pool_size)
            return self._client

    @property
    def api(self) -> docker.APIClient:
        return self.client.api

    def ping(self) -> str:
        with engine_errors("version check"):
            return self.api.version()["Version"]

    def ensure_network(self) -> NetworkInfo:
        return network.ensure_network(self.client, self.settings)

    def remove_network(self) -> None:
        """Remove the service network; active endpoints right after removals are retried."""
        network.remove_network(self.client, self.settings.network_name)

    # Containers.

    def create(self, spec: ContainerSpec) -> ContainerInfo:
        name = container_name(spec.service, spec.owner, spec.job_id, spec.replica)
        container_id = self._create_or_find(spec, name)
        info = self.info(container_id)
        if spec.files and info.status == "created":
            # Written on every call until the start, so a create repeated after a crash still writes them.
            archive = files_tar(spec.files, lambda path: self._is_directory(container_id, path))
            with engine_errors("file write", container=container_id):
                self.api.put_archive(container_id, "/", archive)
            log.info("job %s: wrote %d files into container %s", spec.job_id, len(spec.files), short_id(container_id))
        return info

    def _create_or_find(self, spec: ContainerSpec, name: str) -> str:
        try:
            container = self.client.containers.create(**self._create_arguments(spec, name))
        except docker.errors.ImageNotFound as exc:
            raise NotFound(
                f"image {spec.image} not found: build it with: csdp images build {spec.service}",
                image=spec.image,
            ) from exc
        except docker.errors.APIError as exc:
            if exc.status_code != 409:
                raise translate(exc, operation=f"creation of {name}") from exc
            return self._existing(spec, name)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise translate(exc, operation=f"creation of {name}") from exc
        log.info("job %s: created container %s (%s) replica %d", spec.job_id, short_id(container.id), name, spec.replica)
        return container.id

    def _existing(self, spec: ContainerSpec, name: str) -> str:
        """Return the id of the container already called ``name`` if it is this replica's."""
        attrs = self._inspect_reserved(name)
        labels = attrs["Config"].get("Labels") or {}
        mine = (labels.get(LABEL_OWNER), labels.get(LABEL_JOB), labels.get(LABEL_REPLICA))
        if mine != (spec.owner, spec.job_id, str(spec.replica)):
            raise Conflict(
                f"container name {name} is taken by job {labels.get(LABEL_JOB)} replica {labels.get(LABEL_REPLICA)}; "
                "retry with a new job id",
                container=attrs["Id"],
            )
        log.info("job %s: container %s (%s) exists already, reusing it", spec.job_id, short_id(attrs["Id"]), name)
        return attrs["Id"]

    def _inspect_reserved(self, name: str) -> dict:
        """Inspect the container that has ``name``, waiting while a concurrent create finishes.

        The engine reserves the name before the container can be inspected, so
        a lookup right after a name conflict can briefly find nothing.
        """
        give_up = time.monotonic() + NAME_RESERVED_WAIT_SECONDS
        while True:
            try:
                with engine_errors(f"lookup of {name}", container=name):
                    return self.api.inspect_container(name)
            except NotFound:
                if time.monotonic() > give_up:
                    raise
                time.sleep(0.05)

    def _create_arguments(self, spec: ContainerSpec, name: str) -> dict:
        arguments = {
            "image": spec.image,
            "command": list(spec.command) if spec.command else None,
            "name": name,
            "labels": build_labels(spec, datetime.now(timezone.utc)),
            "environment": dict(spec.environment),
            "network": self.settings.network_name,
            "privileged": False,
            "init": True,
            "mem_limit": spec.memory,
            "memswap_limit": spec.memory,
            "pids_limit": spec.pids,
            "cap_drop": ["ALL"],
            "cap_add": list(spec.capabilities) or None,
            "security_opt": ["no-new-privileges"],
            "log_config": LOG_CONFIG,
        }
        if spec.shm_size:
            arguments["shm_size"] = spec.shm_size
        return arguments

    def connect_network(self, container_id: str) -> None:
        name = self.settings.network_name
        if network.find_network(self.client, name) is None:
            raise NotFound(f"network {name} not found: create it with ensure_network first", network=name)
        with engine_errors("network check", container=container_id):
            attrs = self.api.inspect_container(container_id)
        if name in ((attrs.get("NetworkSettings") or {}).get("Networks") or {}):
            return
        try:
            with engine_errors(f"connection to network {name}", container=container_id):
                self.api.connect_container_to_network(container_id, name)
        except RuntimeFailure as exc:
            # A concurrent call attached it between the check and the connect.
            if "already exists" not in exc.message:
                raise
        log.info("connected container %s to network %s", short_id(container_id), name)

    def start(self, container_id: str) -> ContainerInfo:
        with engine_errors("start", container=container_id):
            self.api.start(container_id)
        log.info("started container %s", short_id(container_id))
        return self.info(container_id)

    def wait_ready(self, container_id: str, readiness: ReadinessSpec) -> ContainerInfo:
        return readiness_checks.wait_ready(self, container_id, readiness)

    def info(self, container_id: str) -> ContainerInfo:
        with engine_errors("inspection", container=container_id):
            attrs = self.api.inspect_container(container_id)
        return info_from_inspect(attrs, self.settings.network_name)

    def list(self, *, owner: str | None = None, service: str | None = None, job_id: str | None = None) -> list[ContainerInfo]:
        labels = [LABEL_MANAGED]
        for key, value in ((LABEL_OWNER, owner), (LABEL_SERVICE, service), (LABEL_JOB, job_id)):
            if value is not None:
                labels.append(f"{key}={value}")
        with engine_errors("container list"):
            summaries = self.api.containers(all=True, filters={"label": labels})
        return [info_from_summary(summary, self.settings.network_name) for summary in summaries]

    def stop(self, container_id: str, timeout: float = 10) -> None:
        with engine_errors("stop", container=container_id, gone_ok=True):
            self.api.stop(container_id, timeout=int(timeout))
            log.info("stopped container %s", short_id(container_id))

    def restart(self, container_id: str, timeout: float = 10) -> ContainerInfo:
        with engine_errors("restart", container=container_id):
            self.api.restart(container_id, timeout=int(timeout))
        log.info("restarted container %s", short_id(container_id))
        return self.info(container_id)

    def remove(self, container_id: str) -> None:
        with engine_errors("removal", container=container_id, gone_ok=True):
            self.api.remove_container(container_id, force=True, v=True)
            log.info("removed container %s", short_id(container_id))

    # Output.

    def logs(
        self,
        container_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine | LogEnd]:
        return logstream.read_logs(self.api, container_id, since=since, until=until, follow=follow, tail=tail)

    def clear_logs(self, container_id: str) -> None:
        logstream.clear_logs(self.api, container_id)

    # Files.

    def put_files(self, container_id: str, directory: str, archive: BinaryIO) -> None:
        # Checked before anything is streamed, so a large upload to a bad directory fails at once.
        if not self._is_directory(container_id, directory):
            raise NotFound(
                f"directory {directory} not found in container {short_id(container_id)}: create it first or pick another path",
                field="path",
                path=directory,
            )
        members = check_archive(archive)
        with engine_errors("upload", container=container_id, path=directory):
            self.api.put_archive(container_id, directory, archive)
        log.info("uploaded %d archive members to %s in container %s", members, directory, short_id(container_id))

    def get_files(self, container_id: str, path: str) -> tuple[Iterator[bytes], dict]:
        with engine_errors("download", container=container_id, path=path):
            stream, stat = self.api.get_archive(container_id, path)
        return stream, stat

    def _is_directory(self, container_id: str, path: str) -> bool:
        """Tell whether ``path`` is a directory in the container, following a final symlink."""
        self.info(container_id)  # NotFound for a missing container; the path check alone cannot tell
        url = self.api._url("/containers/{0}/archive", container_id)
        with engine_errors("path check", container=container_id, path=path):
            # The trailing slash makes the engine resolve a symlink to its target.
            response = self.api.head(url, params={"path": path.rstrip("/") + "/"})
        header = response.headers.get("X-Docker-Container-Path-Stat")
        if response.status_code != 200 or not header:
            return False
        stat = json.loads(base64.b64decode(header))
        return bool(int(stat.get("mode", 0)) & GO_MODE_DIR)

    # Commands.

    def exec(
        self,
        container_id: str,
        command: list[str],
        *,
        timeout: float,
        environment: dict[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
    ) -> ExecResult:
        return execs.run_exec(
            self.api, container_id, command, timeout=timeout, environment=environment, workdir=workdir, user=user
        )

    def exec_stream(
        self,
        container_id: str,
        command: list[str],
        *,
        timeout: float,
        environment: dict[str, str] | None = None,
        workdir: str | None = None,
    ) -> Iterator[ExecOutput | ExecResult]:
        return execs.stream_exec(
            self.api, container_id, command, timeout=timeout, environment=environment, workdir=workdir
        )
