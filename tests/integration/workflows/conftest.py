"""Fixtures of the workflow integration tests: private queues, a worker subprocess, pushed results.

Each session uses its own queue prefix and results exchange, so workers of
other test runs on the same broker never take these tasks. The light test
service ``sleeper`` comes from the ``services`` folder next to this file.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from stack_testing import ServerProcess, private_settings, wait_for, worker_command, worker_ready

SERVICES = Path(__file__).resolve().parent / "services"


@pytest.fixture(scope="module")
def workflow_env():
    """Point settings, the catalog and the Celery app at private queues and the test services."""
    run = uuid.uuid4().hex[:8]
    env = {
        "CSDP_QUEUE_PREFIX": f"test-{run}-",
        "CSDP_RESULTS_EXCHANGE": f"csdp.results.test-{run}",
        "CSDP_SERVICES_PATH": json.dumps([str(SERVICES)]),
    }
    yield from private_settings(env)


class Worker(ServerProcess):
    """A Celery worker subprocess on this session's queues."""

    def __init__(self, log_path: Path, env: dict[str, str], concurrency: int) -> None:
        from csdp.settings import get_settings

        prefix = get_settings().queue_prefix
        command = worker_command(prefix, f"{prefix}{uuid.uuid4().hex[:6]}@%h", concurrency)
        super().__init__("worker", command, {**os.environ, **env}, log_path)

    def start(self) -> Worker:
        return super().start(worker_ready, timeout=30)

    def received(self) -> int:
        """Return how many task messages the worker logged as received so far."""
        return self.log().count("] received")


@pytest.fixture
def start_worker(workflow_env, tmp_path, request):
    """Return a function that starts a worker with extra environment; every worker stops at teardown."""
    workers: list[Worker] = []

    def start(concurrency: int = 4, **env: str) -> Worker:
        worker = Worker(tmp_path / "worker.log", env, concurrency)
        worker.start()
        workers.append(worker)
        return worker

    yield start

    for worker in workers:
        worker.stop()
    report = getattr(request.node, "workflow_report", None)
    if workers and report is not None and report.failed:
        # Shown by pytest in the teardown output of the failed test.
        print(workers[-1].log()[-8000:])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.workflow_report = report
    return report


@pytest.fixture
def results(workflow_env, owner):
    """A queue bound to every result of ``owner``, bound before any job starts; yields a reader."""
    from kombu import Queue

    from csdp.workflows.app import app
    from csdp.workflows.notify import results_exchange

    connection = app.connection_for_read()
    channel = connection.channel()
    queue = Queue(f"test-results-{uuid.uuid4().hex[:8]}", results_exchange(), routing_key=f"{owner}.*", exclusive=True, auto_delete=True)
    bound = queue(channel)
    bound.declare()

    class Reader:
        def __init__(self) -> None:
            self.messages: list[dict] = []

        def drain(self) -> list[dict]:
            while True:
                message = bound.get(no_ack=True)
                if message is None:
                    return self.messages
                self.messages.append(json.loads(message.body))

        def wait(self, job_id: str, timeout: float) -> dict:
            def arrived():
                return [item for item in self.drain() if item["id"] == job_id]

            return wait_for(arrived, timeout, f"notification of job {job_id}")[0]

        def count(self, job_id: str) -> int:
            """Return how many notifications of ``job_id`` arrived since the queue was bound."""
            return sum(1 for item in self.drain() if item["id"] == job_id)

    yield Reader()

    bound.delete()
    channel.close()
    connection.release()
