"""The runtime interface: every container operation the platform needs.

Docker is the first backend (``csdp.runtime.docker_backend``); a Kubernetes
backend would implement the same class. Callers speak in these verbs and these
data classes only, never in engine SDK objects.

Every method raises subclasses of ``csdp.errors.CsdpError``: NotFound for a
missing container or path, RuntimeFailure for an engine error, OperationTimeout
for a time limit, EngineUnavailable when the engine cannot be reached.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO, Iterator, Literal

# Label keys on every container the platform creates. Labels are the source of
# truth about who owns what; nothing else records ownership.
LABEL_PREFIX = "io.csdp."
LABEL_MANAGED = LABEL_PREFIX + "managed"
LABEL_OWNER = LABEL_PREFIX + "owner"
LABEL_SERVICE = LABEL_PREFIX + "service"
LABEL_JOB = LABEL_PREFIX + "job"
LABEL_REPLICA = LABEL_PREFIX + "replica"
LABEL_CREATED = LABEL_PREFIX + "created"
LABEL_EXPIRES = LABEL_PREFIX + "expires"
# The deployment that created the container, so deployments sharing one engine see only their own.
LABEL_DEPLOYMENT = LABEL_PREFIX + "deployment"
DEFAULT_DEPLOYMENT = "default"


@dataclass(frozen=True)
class PortSpec:
    port: int
    protocol: Literal["tcp", "udp"] = "tcp"
    description: str = ""


@dataclass(frozen=True)
class ReadinessSpec:
    """How to tell a started container is ready; mirrors the manifest's readiness."""

    kind: Literal["port", "exec", "log", "none"] = "none"
    port: int | None = None
    protocol: Literal["tcp", "udp"] = "tcp"
    command: tuple[str, ...] | None = None
    pattern: str | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one replica. Only the platform fills it, never the user directly."""

    service: str
    owner: str
    job_id: str
    replica: int
    image: str
    environment: dict[str, str] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    ports: tuple[PortSpec, ...] = ()
    memory: str = "256m"
    pids: int = 256
    shm_size: str | None = None
    capabilities: tuple[str, ...] = ()
    expires_at: datetime | None = None
    # Files written into the container before it starts: absolute path to content.
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerInfo:
    """Public view of one container: identity, owner, addresses, ports and state."""

    id: str
    name: str
    service: str
    owner: str
    job_id: str
    replica: int
    ip_address: str | None
    ipv6_address: str | None
    ports: tuple[PortSpec, ...]
    status: str
    created: datetime
    expires_at: datetime | None = None
    exit_code: int | None = None

    @property
    def service_port(self) -> int | None:
        """The first declared port, the one a client usually wants."""
        return self.ports[0].port if self.ports else None


@dataclass(frozen=True)
class LogLine:
    stream: Literal["stdout", "stderr"]
    timestamp: datetime
    text: str


@dataclass(frozen=True)
class LogEnd:
    """The final event of a followed log: the container stopped."""

    status: str
    exit_code: int | None


@dataclass(frozen=True)
class ExecResult:
    """Outcome of a command run in a container. ``exit_code`` is always set."""

    exit_code: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    # Output beyond the runtime's limit per stream was dropped.
    truncated: bool = False


@dataclass(frozen=True)
class ExecOutput:
    """One chunk of a streamed exec."""

    stream: Literal["stdout", "stderr"]
    data: bytes


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    driver: str
    subnet_v4: str | None
    subnet_v6: str | None


class Runtime(abc.ABC):
    """Container operations. All methods are safe to call again with the same arguments."""

    @abc.abstractmethod
    def ping(self) -> str:
        """Return the engine version, or raise EngineUnavailable."""

    @abc.abstractmethod
    def ensure_network(self) -> NetworkInfo:
        """Create the service network from settings unless it exists; return it."""

    @abc.abstractmethod
    def create(self, spec: ContainerSpec) -> ContainerInfo:
        """Create (not start) the replica ``spec.job_id``/``spec.replica``.

        The name is derived from owner, service, job and replica, so a second
        call for the same replica returns the existing container instead of a
        duplicate. The container is hardened: not privileged, no user mounts, an
        init process, memory and pids limits, all capabilities dropped but the
        listed ones, and ``no-new-privileges``.
        """

    @abc.abstractmethod
    def connect_network(self, container_id: str) -> None:
        """Attach the container to the service network; already attached counts as done."""

    @abc.abstractmethod
    def start(self, container_id: str) -> ContainerInfo:
        """Start the container (already running counts as done) and return fresh info."""

    @abc.abstractmethod
    def wait_ready(self, container_id: str, readiness: ReadinessSpec) -> ContainerInfo:
        """Block until the readiness check passes; raise OperationTimeout or RuntimeFailure if it exits."""

    @abc.abstractmethod
    def info(self, container_id: str) -> ContainerInfo:
        """Return current info, or raise NotFound."""

    @abc.abstractmethod
    def list(self, *, owner: str | None = None, service: str | None = None, job_id: str | None = None) -> list[ContainerInfo]:
        """List managed containers, stopped ones included; the filters combine with AND."""

    @abc.abstractmethod
    def stop(self, container_id: str, timeout: float = 10) -> None:
        """Stop the container; already stopped or gone counts as done."""

    @abc.abstractmethod
    def restart(self, container_id: str, timeout: float = 10) -> ContainerInfo:
        """Restart the container and return fresh info."""

    @abc.abstractmethod
    def remove(self, container_id: str) -> None:
        """Force-remove the container; already gone or being removed counts as done."""

    @abc.abstractmethod
    def logs(
        self,
        container_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        follow: bool = False,
        tail: int | None = None,
    ) -> Iterator[LogLine | LogEnd]:
        """Yield output lines after the last clear; with follow, end with LogEnd once the container exits."""

    @abc.abstractmethod
    def clear_logs(self, container_id: str) -> None:
        """Hide all output so far from later ``logs`` calls."""

    @abc.abstractmethod
    def put_files(self, container_id: str, directory: str, archive: BinaryIO) -> None:
        """Extract a checked tar archive into an existing directory; NotFound names a missing directory."""

    @abc.abstractmethod
    def get_files(self, container_id: str, path: str) -> tuple[Iterator[bytes], dict]:
        """Return a tar stream of a file or directory and its stat; NotFound names a missing path."""

    @abc.abstractmethod
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
        """Run a command and wait for it; on timeout return what was read with ``timed_out`` and exit code 124."""

    @abc.abstractmethod
    def exec_stream(
        self,
        container_id: str,
        command: list[str],
        *,
        timeout: float,
        environment: dict[str, str] | None = None,
        workdir: str | None = None,
    ) -> Iterator[ExecOutput | ExecResult]:
        """Yield output chunks as they come, then one ExecResult (empty output) with the exit code."""
