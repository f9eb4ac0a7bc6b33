"""Fakes for the API unit tests: a runtime, a job store and submit functions in memory."""

from __future__ import annotations

import io
import itertools
import tarfile
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

from csdp.errors import LimitExceeded, NotFound
from csdp.runtime.base import ContainerInfo, ExecOutput, ExecResult, LogEnd, LogLine, PortSpec
from csdp.wire import JobRecord
from csdp.workflows.users import User

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
GO_MODE_DIR = 1 << 31

ALICE = User("alice", False, max_containers=5, max_replicas_per_request=3)
BOB = User("bob", False, max_containers=5, max_replicas_per_request=3)
ROOT = User("root", True, max_containers=30, max_replicas_per_request=30)
TOKENS = {"alice-token": ALICE, "bob-token": BOB, "root-token": ROOT}


def auth(user: User) -> dict[str, str]:
    token = next(token for token, known in TOKENS.items() if known is user)
    return {"Authorization": f"Bearer {token}"}


def make_info(container_id: str, owner: str, service: str = "syslog", status: str = "running") -> ContainerInfo:
    return ContainerInfo(
        id=container_id,
        name=f"csdp-{service}-{owner}-{container_id}",
        service=service,
        owner=owner,
        job_id="job1",
        replica=1,
        ip_address="10.214.0.5",
        ipv6_address="fd5c:5d9e:2::5",
        ports=(PortSpec(514, "udp", "syslog"),),
        status=status,
        created=NOW,
    )


class FakeRuntime:
    """Containers in a dict; directories per container in a set."""

    def __init__(self) -> None:
        self.containers: dict[str, ContainerInfo] = {}
        self.directories: dict[str, set[str]] = {}
        self.files: dict[str, set[str]] = {}
        self.cleared: list[str] = []
        self.execs: list[tuple[str, list[str]]] = []
        self.log_lines: list = []
        self.closed_streams = 0

    def add(self, info: ContainerInfo, directories: tuple[str, ...] = ("/", "/tmp")) -> ContainerInfo:
        self.containers[info.id] = info
        self.directories[info.id] = set(directories)
        return info

    def ping(self) -> str:
        return "20.10.24"

    def info(self, container_id: str) -> ContainerInfo:
        if container_id not in self.containers:
            raise NotFound(f"container {container_id} does not exist (from the engine)")
        return self.containers[container_id]

    def list(self, *, owner=None, service=None, job_id=None) -> list[ContainerInfo]:
        return [
            info
            for info in self.containers.values()
            if (owner is None or info.owner == owner) and (service is None or info.service == service)
        ]

    def logs(self, container_id, *, since=None, until=None, follow=False, tail=None):
        self.info(container_id)
        runtime = self

        def lines():
            try:
                yield from runtime.log_lines
            finally:
                runtime.closed_streams += 1

        return lines()

    def clear_logs(self, container_id: str) -> None:
        self.info(container_id)
        self.cleared.append(container_id)

    def exec(self, container_id, command, *, timeout, environment=None, workdir=None, user=None) -> ExecResult:
        self.execs.append((container_id, command))
        if command[:2] in (["test", "-d"], ["test", "-e"]):
            return ExecResult(0 if command[2] in self.directories[container_id] else 1, b"", b"")
        return ExecResult(3, b"out\n", b"err\n")

    def exec_stream(self, container_id, command, *, timeout, environment=None, workdir=None):
        yield ExecOutput("stdout", b"out\n")
        yield ExecOutput("stderr", b"err\n")
        yield ExecResult(3, b"", b"")

    def get_files(self, container_id: str, path: str):
        if path not in self.directories[container_id] | self.files.get(container_id, set()):
            raise NotFound(f"path {path} not found in container {container_id}", field="path", path=path)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("hello.txt")
            info.size = 5
            tar.addfile(info, io.BytesIO(b"hello"))
        mode = GO_MODE_DIR if path in self.directories[container_id] else 0o644
        return iter([buffer.getvalue()]), {"name": path, "mode": mode}


class FakeJobStore:
    def __init__(self) -> None:
        self.records: dict[str, JobRecord] = {}
        self._ids = itertools.count(1)

    def create(self, owner: str, service: str | None, action: str, parameters: dict | None = None) -> JobRecord:
        # Ids of the real form (32 hex digits) that sort in creation order.
        record = JobRecord(id=f"{next(self._ids):032x}", owner=owner, service=service, action=action,
                           parameters=parameters or {}, state="queued", created=NOW)
        self.records[record.id] = record
        return record

    def get(self, job_id: str) -> JobRecord | None:
        return self.records.get(job_id)

    def list_for_owner(self, owner: str, limit: int = 50) -> list[JobRecord]:
        return [record for record in self.records.values() if record.owner == owner][:limit]

    def find_by_prefix(self, owner: str, prefix: str) -> JobRecord:
        matches = [record for record in self.list_for_owner(owner, 1000) if record.id.startswith(prefix)]
        if len(prefix) < 8 or len(matches) != 1:
            raise NotFound(f"job {prefix!r} not found (fake store)", field="job_id")
        return matches[0]


class FakeSubmit(SimpleNamespace):
    """The submit_* functions: they record each call and create a queued job."""

    def __init__(self, store: FakeJobStore, runtime: FakeRuntime) -> None:
        super().__init__()
        self.store = store
        self.runtime = runtime
        self.calls: list[tuple] = []
        self.staged: list[Path] = []

    def submit_start(self, owner, service, num, parameters, ttl_seconds, email, *, max_containers, max_replicas):
        self.calls.append(("start", owner, service, num))
        if not 1 <= num <= max_replicas:
            from csdp.errors import InvalidInput

            raise InvalidInput(f"num must be an integer from 1 to {max_replicas}, got {num!r}", field="num")
        current = len(self.runtime.list(owner=owner))
        if current + num > max_containers:
            raise LimitExceeded(f"limit of {max_containers} containers, you have {current}", limit=max_containers, current=current)
        return self.store.create(owner, service, "start")

    def _targets(self, verb, owner, containers=None, service=None, email=None):
        ids = None if containers is None else [getattr(item, "id", item) for item in containers]
        self.calls.append((verb, owner, ids, service))
        return self.store.create(owner, service, verb)

    def submit_stop(self, owner, containers=None, service=None, email=None):
        return self._targets("stop", owner, containers, service, email)

    def submit_restart(self, owner, containers=None, service=None, email=None):
        return self._targets("restart", owner, containers, service, email)

    def submit_delete(self, owner, containers=None, service=None, email=None):
        return self._targets("delete", owner, containers, service, email)

    def submit_upload(self, owner, container_id, directory, staged_path, email=None):
        self.calls.append(("upload", owner, container_id, directory))
        self.staged.append(Path(staged_path))
        return self.store.create(owner, None, "upload")

    def submit_action(self, owner, service, action, containers, parameters, email=None):
        ids = None if containers is None else [item.id for item in containers]
        self.calls.append(("action", owner, service, action, ids))
        return self.store.create(owner, service, action)


def log_lines() -> list:
    return [
        LogLine("stdout", NOW, "hello"),
        LogLine("stderr", NOW, "oops"),
        LogEnd("exited", 0),
    ]
