"""Helpers of the deployment tests: the running stack and waiting."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest

from csdp.runtime.base import LABEL_JOB

COMMAND_TIMEOUT_SECONDS = 300
LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float, description: str, interval: float = 1.0):
    """Return the first true value of ``predicate`` within ``timeout`` seconds, else fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{description} not reached within {timeout} s")
        time.sleep(interval)


@dataclass
class Stack:
    """A running compose stack of the tests and what is needed to talk to it."""

    project: str
    state_dir: Path
    url: str
    admin: str
    token: str
    network: str
    env: dict[str, str]
    engine: docker.DockerClient

    def cli(self, *arguments: str, check: bool = True, timeout: float = COMMAND_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
        """Run the real ``csdp`` command against nginx of this stack."""
        env = dict(self.env, CSDP_URL=self.url, CSDP_TOKEN=self.token)
        completed = subprocess.run(
            [sys.executable, "-m", "csdp.cli.main", *arguments], env=env, capture_output=True, text=True, timeout=timeout
        )
        if check and completed.returncode != 0:
            pytest.fail(f"csdp {' '.join(arguments)} exited {completed.returncode}: {completed.stderr[-2000:]}")
        return completed

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v1", headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def job(self, job_id: str) -> dict | None:
        """Return the job record, or None while the API cannot return it (during a broker or Redis restart)."""
        try:
            with self.http() as client:
                response = client.get(f"/jobs/{job_id}")
        except httpx.HTTPError:
            return None
        return response.json() if response.status_code == 200 else None

    def wait_ready(self, timeout: float = 120) -> None:
        """Wait until the API through nginx reports Redis, the broker and the engine ready."""

        def ready() -> bool:
            try:
                return httpx.get(f"{self.url}/api/v1/ready", timeout=10).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout, "API ready through nginx")

    def health(self, container) -> str | None:
        """Return the current health status of a stack container."""
        container.reload()
        return (container.attrs["State"].get("Health") or {}).get("Status")

    def containers(self, service: str):
        """Return the stack's running containers of a compose service, such as worker."""
        filters = {"label": [f"{LABEL_PROJECT}={self.project}", f"{LABEL_SERVICE}={service}"]}
        return self.engine.containers.list(filters=filters)

    def job_containers(self, job_id: str):
        return self.engine.containers.list(all=True, filters={"label": f"{LABEL_JOB}={job_id}"})

    def reconcile(self) -> str:
        """Run the housekeeping passes for this stack's admin in a worker and return their output.

        The stack's beat runs housekeeping only once a day (see the stack fixture):
        every pass here is limited to the stack's own owner and job records.
        """
        script = (
            "from csdp.workflows.housekeeping import end_lost_jobs, remove_orphans;"
            f"print(end_lost_jobs(), remove_orphans(owner={self.admin!r}))"
        )
        workers = self.containers("worker")
        if not workers:
            return "no running worker"
        _exit_code, output = workers[0].exec_run(["python3", "-c", script])
        return output.decode("utf-8", "replace")


def job_id_of(output: str) -> str:
    """Return the job id from the JSON that ``csdp ... --no-wait --json`` prints."""
    return json.loads(output)["job_id"]
