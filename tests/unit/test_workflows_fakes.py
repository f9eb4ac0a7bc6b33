"""Fakes shared by the workflow unit tests: an in-memory runtime, a Redis and a small catalog."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import fakeredis
import pytest

from csdp.catalog import Catalog, Service, load_manifest
from csdp.errors import NotFound
from csdp.runtime.base import ContainerInfo, ContainerSpec, NetworkInfo, Runtime
from csdp.runtime.names import container_name

LIGHT = """\
name: light
summary: A container that sleeps.
image: csdp/debian:bookworm
command: ["sleep", "infinity"]
limits:
  max_replicas: 5
parameters:
  - name: greeting
    help: Any text.
    env: GREETING
    default: hello
  - name: password
    type: secret
    help: A secret.
    env: PASSWORD
actions:
  - name: echo
    help: Print a value as JSON.
    command: ["echo", "{value}", "x{value}y"]
    output: json
    parameters:
      - name: value
        help: The value.
        required: true
"""

BACKEND = """\
name: backend
summary: A dependency.
image: csdp/debian:bookworm
"""

FRONTEND = """\
name: frontend
summary: Needs the backend.
image: csdp/debian:bookworm
depends_on: [backend]
"""


def write_catalog(root: Path) -> Catalog:
    services = {}
    for text in (LIGHT, BACKEND, FRONTEND):
        name = text.split("\n", 1)[0].split(": ")[1]
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "service.yaml").write_text(text)
        services[name] = Service(load_manifest(folder / "service.yaml"), folder)
    return Catalog(services)


class FakeRuntime(Runtime):
    """Containers in a dict; ``errors[verb]`` is raised by that verb, ``errors[(verb, replica)]`` for one replica."""

    def __init__(self) -> None:
        self.containers: dict[str, ContainerInfo] = {}
        self.calls: list[tuple[str, str]] = []
        self.errors: dict = {}
        self.exec_result = None

    def _check(self, verb: str, container_id: str | None = None) -> None:
        self.calls.append((verb, container_id or ""))
        error = self.errors.get(verb)
        if container_id in self.containers:
            error = self.errors.get((verb, self.containers[container_id].replica), error)
        if error is not None:
            raise error

    def add(self, owner: str, service: str = "light", job_id: str = "job0", replica: int = 0, **changes) -> ContainerInfo:
        info = ContainerInfo(
            id=f"{job_id}-{service}-{replica}-{owner}", name=container_name(service, owner, job_id, replica), service=service,
            owner=owner, job_id=job_id, replica=replica, ip_address=None, ipv6_address=None, ports=(),
            status="created", created=datetime.now(timezone.utc),
        )
        info = ContainerInfo(**{**info.__dict__, **changes})
        self.containers[info.id] = info
        return info

    def _set(self, container_id: str, **changes) -> ContainerInfo:
        info = self.info(container_id)
        info = ContainerInfo(**{**info.__dict__, **changes})
        self.containers[container_id] = info
        return info

    def ping(self) -> str:
        return "fake"

    def ensure_network(self) -> NetworkInfo:
        return NetworkInfo("fake", "bridge", None, None)

    def create(self, spec: ContainerSpec) -> ContainerInfo:
        self.calls.append(("create", str(spec.replica)))
        error = self.errors.get(("create", spec.replica), self.errors.get("create"))
        if error is not None:
            raise error
        for info in self.containers.values():
            if (info.owner, info.service, info.job_id, info.replica) == (spec.owner, spec.service, spec.job_id, spec.replica):
                return info
        self.last_spec = spec
        return self.add(spec.owner, spec.service, spec.job_id, spec.replica, expires_at=spec.expires_at)

    def connect_network(self, container_id: str) -> None:
        self._check("connect_network", container_id)
        self._set(container_id, ip_address="10.214.0.2")

    def start(self, container_id: str) -> ContainerInfo:
        self._check("start", container_id)
        return self._set(container_id, status="running")

    def wait_ready(self, container_id, readiness) -> ContainerInfo:
        self._check("wait_ready", container_id)
        return self.info(container_id)

    def info(self, container_id: str) -> ContainerInfo:
        if container_id not in self.containers:
            raise NotFound(f"container {container_id} does not exist")
        return self.containers[container_id]

    def list(self, *, owner=None, service=None, job_id=None) -> list[ContainerInfo]:
        return [
            info for info in self.containers.values()
            if (owner is None or info.owner == owner) and (service is None or info.service == service) and (job_id is None or info.job_id == job_id)
        ]

    def stop(self, container_id: str, timeout: float = 10) -> None:
        self._check("stop", container_id)
        if container_id in self.containers:
            self._set(container_id, status="exited")

    def restart(self, container_id: str, timeout: float = 10) -> ContainerInfo:
        self._check("restart", container_id)
        return self._set(container_id, status="running")

    def remove(self, container_id: str) -> None:
        self._check("remove", container_id)
        self.containers.pop(container_id, None)

    def logs(self, container_id, **kwargs):
        return iter(())

    def clear_logs(self, container_id: str) -> None:
        pass

    def put_files(self, container_id, directory, archive) -> None:
        self._check("put_files", container_id)
        self.info(container_id)

    def get_files(self, container_id, path):
        raise NotImplementedError

    def exec(self, container_id, command, *, timeout, environment=None, workdir=None, user=None):
        self._check("exec", container_id)
        self.last_command = command
        return self.exec_result

    def exec_stream(self, container_id, command, *, timeout, environment=None, workdir=None):
        raise NotImplementedError


WORKFLOW_MODULES = ("steps", "finish", "submit", "tasks", "housekeeping")


@pytest.fixture
def fake_redis(monkeypatch):
    from csdp.workflows import jobs

    client = fakeredis.FakeRedis(decode_responses=True)
    monkeypatch.setattr(jobs, "_default_client", lambda: client)
    return client


@pytest.fixture
def fake_runtime(monkeypatch):
    import importlib

    runtime = FakeRuntime()
    for name in WORKFLOW_MODULES:
        module = importlib.import_module(f"csdp.workflows.{name}")
        monkeypatch.setattr(module, "get_runtime", lambda: runtime)
    return runtime


@pytest.fixture
def catalog(monkeypatch, tmp_path):
    from csdp.workflows import specs, submit, tasks

    loaded = write_catalog(tmp_path / "services")
    for module in (specs, submit, tasks):
        monkeypatch.setattr(module, "get_catalog", lambda: loaded)
    return loaded


@pytest.fixture
def published(monkeypatch):
    """Records published to the results exchange, instead of sending them."""
    from csdp.workflows import notify

    records = []
    monkeypatch.setattr(notify, "publish_result", records.append)
    return records
