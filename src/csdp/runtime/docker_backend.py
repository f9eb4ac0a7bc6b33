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

from csdp.errors import BadRequest, Conflict, NotFound, RuntimeFailure
from csdp.runtime import addresses, execs, logstream, network
from csdp.runtime import readiness as readiness_checks
from csdp.runtime.archive import check_archive, files_tar
from csdp.runtime.base import (
    DEFAULT_DEPLOYMENT,
    LABEL_DEPLOYMENT,
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
from csdp.runtime.labels import build_labels, deployment_of, info_from_inspect, info_from_summary
from csdp.runtime.names import container_name, short_id
from csdp.runtime.upload_targets import check_upload_target
from csdp.settings import Settings

log = logging.getLogger(__name__)

# Go's os.ModeDir bit in the mode of the engine's path stat.
GO_MODE_DIR = 1 << 31
ENGINE_TIMEOUT_SECONDS = 60
# How long a name conflict may point at a container that cannot be inspected yet, in seconds.
NAME_RESERVED_WAIT_SECONDS = 5.0
# Bounds the engine's log file per container: 3 files of 10 MB.
LOG_CONFIG = LogConfig(type=LogConfig.types.JSON, config={"max-size": "10m", "max-file": "3"})
# How often a first start moves to other addresses when a concurrent create took the same ones.
FIRST_START_ATTEMPTS = 5
NEVER_STARTED = "0001-01-01T00:00:00Z"


class DockerRuntime(Runtime):
    """Runtime on one Docker engine; safe to share between threads."""

    def __init__(self, settings: Settings, client: docker.DockerClient | None = None) -> None:
        self.settings = settings
        self._client = client
        self._lock = threading.Lock()
        # Picking addresses and creating with them is one step for this process's threads.
        self._address_lock = threading.Lock()

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
            with self._address_lock:
                ipv4, ipv6 = self._free_addresses()
                endpoint = self.api.create_endpoint_config(ipv4_address=ipv4, ipv6_address=ipv6)
                container = self.client.containers.create(
                    **self._create_arguments(spec, name), networking_config={self.settings.network_name: endpoint}
                )
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
        log.info(
            "job %s: created container %s (%s) replica %d with addresses %s and %s",
            spec.job_id, short_id(container.id), name, spec.replica, ipv4, ipv6,
        )
        return container.id

    def _free_addresses(self) -> tuple[str, str]:
        """Pick an IPv4 and an IPv6 address of the service network that no container uses or has reserved."""
        name = self.settings.network_name
        attrs = network.find_network(self.client, name)
        if attrs is None:
            raise NotFound(f"network {name} not found: create it with ensure_network first", network=name)
        info = network.network_info(attrs)
        with engine_errors(f"address lookup on network {name}"):
            summaries = self.api.containers(all=True, filters={"network": name})
        used = addresses.used_addresses(summaries, name) | addresses.gateways(attrs)
        try:
            return addresses.pick_free(info.subnet_v4 or "", used), addresses.pick_free(info.subnet_v6 or "", used)
        except (LookupError, ValueError) as exc:
            raise RuntimeFailure(f"cannot pick addresses on network {name}: {exc}") from exc

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
            "labels": build_labels(spec, datetime.now(timezone.utc), self.settings.deployment),
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
            with self._address_lock, engine_errors(f"connection to network {name}", container=container_id):
                ipv4, ipv6 = self._free_addresses()
                self.api.connect_container_to_network(container_id, name, ipv4_address=ipv4, ipv6_address=ipv6)
        except RuntimeFailure as exc:
            # A concurrent call attached it between the check and the connect.
            if "already exists" not in exc.message:
                raise
        log.info("connected container %s to network %s", short_id(container_id), name)

    def start(self, container_id: str) -> ContainerInfo:
        for attempt in range(1, FIRST_START_ATTEMPTS + 1):
            try:
                self.api.start(container_id)
                break
            except docker.errors.APIError as exc:
                if "address already in use" not in str(exc.explanation or exc).lower():
                    raise translate(exc, container=container_id, operation="start") from exc
                self._on_address_taken(container_id, attempt)
            except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
                raise translate(exc, container=container_id, operation="start") from exc
        log.info("started container %s", short_id(container_id))
        return self.info(container_id)

    def _on_address_taken(self, container_id: str, attempt: int) -> None:
        """Move a never started container to free addresses; refuse to move one whose addresses were seen."""
        name = self.settings.network_name
        with engine_errors("address check", container=container_id):
            attrs = self.api.inspect_container(container_id)
        endpoint = ((attrs.get("NetworkSettings") or {}).get("Networks") or {}).get(name) or {}
        fixed = endpoint.get("IPAMConfig") or {}
        expected = " and ".join(value for value in (fixed.get("IPv4Address"), fixed.get("IPv6Address")) if value)
        started_before = (attrs.get("State") or {}).get("StartedAt", NEVER_STARTED) != NEVER_STARTED
        if started_before or attempt == FIRST_START_ATTEMPTS:
            raise Conflict(
                f"container {short_id(container_id)} cannot start: its address {expected or '(none)'} on network {name} "
                "is taken by another container; stop that container or start a new one",
                container=container_id,
            )
        with self._address_lock, engine_errors("address change", container=container_id):
            ipv4, ipv6 = self._free_addresses()
            self.api.disconnect_container_from_network(container_id, name)
            self.api.connect_container_to_network(container_id, name, ipv4_address=ipv4, ipv6_address=ipv6)
        log.warning(
            "container %s: address %s was taken before its first start, moved to %s and %s",
            short_id(container_id), expected, ipv4, ipv6,
        )

    def wait_ready(self, container_id: str, readiness: ReadinessSpec) -> ContainerInfo:
        return readiness_checks.wait_ready(self, container_id, readiness)

    def info(self, container_id: str) -> ContainerInfo:
        with engine_errors("inspection", container=container_id):
            attrs = self.api.inspect_container(container_id)
        if deployment_of((attrs.get("Config") or {}).get("Labels") or {}) != self.settings.deployment:
            # Another deployment's container on the same engine is not ours to see or control.
            raise NotFound(
                f"container {container_id} not found: list your containers to get a current id", container=container_id
            )
        return info_from_inspect(attrs, self.settings.network_name)

    def list(self, *, owner: str | None = None, service: str | None = None, job_id: str | None = None) -> list[ContainerInfo]:
        deployment = self.settings.deployment
        labels = [LABEL_MANAGED]
        if deployment != DEFAULT_DEPLOYMENT:
            labels.append(f"{LABEL_DEPLOYMENT}={deployment}")
        for key, value in ((LABEL_OWNER, owner), (LABEL_SERVICE, service), (LABEL_JOB, job_id)):
            if value is not None:
                labels.append(f"{key}={value}")
        with engine_errors("container list"):
            summaries = self.api.containers(all=True, filters={"label": labels})
        # The default deployment also owns containers without the label, which the engine's filter cannot select.
        return [
            info_from_summary(summary, self.settings.network_name)
            for summary in summaries
            if deployment_of(summary.get("Labels") or {}) == deployment
        ]

    def stop(self, container_id: str, timeout: float = 10) -> None:
        with engine_errors("stop", container=container_id, gone_ok=True):
            self.api.stop(container_id, timeout=int(timeout))
            log.info("stopped container %s", short_id(container_id))

    def restart(self, container_id: str, timeout: float = 10) -> ContainerInfo:
        try:
            self.api.restart(container_id, timeout=int(timeout))
        except docker.errors.APIError as exc:
            if "address already in use" not in str(exc.explanation or exc).lower():
                raise translate(exc, container=container_id, operation="restart") from exc
            # Raises the Conflict naming the address: a restarted container never moves.
            self._on_address_taken(container_id, FIRST_START_ATTEMPTS)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise translate(exc, container=container_id, operation="restart") from exc
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
        check_upload_target(directory)
        stat = self._path_stat(container_id, directory)
        if stat is None:
            raise NotFound(
                f"directory {directory} not found in container {short_id(container_id)}: create it first or pick another path",
                field="path",
                path=directory,
            )
        if stat.get("linkTarget"):
            # A link such as /run/shm can lead into a mount the path itself does not name.
            check_upload_target(stat["linkTarget"])
            is_directory = self._is_directory(container_id, directory)
        else:
            is_directory = bool(int(stat.get("mode", 0)) & GO_MODE_DIR)
        if not is_directory:
            raise BadRequest(
                f"{directory} in container {short_id(container_id)} is not a directory: "
                "give the directory the files go into",
                field="path",
                path=directory,
            )
        members = check_archive(archive, self.settings.max_unpacked_bytes)
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
        stat = self._stat(container_id, path.rstrip("/") + "/")
        return stat is not None and bool(int(stat.get("mode", 0)) & GO_MODE_DIR)

    def _path_stat(self, container_id: str, path: str) -> dict | None:
        """Return the engine's stat of ``path`` itself (name, size, mode, linkTarget), or None if it is missing.

        For a symlink, ``linkTarget`` is the resolved absolute target.
        """
        self.info(container_id)
        return self._stat(container_id, path.rstrip("/") or "/")

    def _stat(self, container_id: str, path: str) -> dict | None:
        url = self.api._url("/containers/{0}/archive", container_id)
        with engine_errors("path check", container=container_id, path=path):
            # A trailing slash makes the engine resolve a symlink to its target.
            response = self.api.head(url, params={"path": path})
        header = response.headers.get("X-Docker-Container-Path-Stat")
        if response.status_code != 200 or not header:
            return None
        return json.loads(base64.b64decode(header))

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
            self.api, container_id, command, timeout=timeout, environment=environment, workdir=workdir, user=user,
            output_limit=self.settings.max_exec_output_bytes,
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
