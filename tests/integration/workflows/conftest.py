"""Fixtures of the workflow integration tests: private queues, a worker subprocess, pushed results.

Each session uses its own queue prefix and results exchange, so workers of
other test runs on the same broker never take these tasks. The light test
service ``sleeper`` comes from the ``services`` folder next to this file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from workflow_helpers import wait_for

SERVICES = Path(__file__).resolve().parent / "services"
WORKER_START_TIMEOUT = 30
WORKER_STOP_TIMEOUT = 15


@pytest.fixture(scope="session")
def workflow_env():
    """Point settings, the catalog and the Celery app at private queues and the test services."""
    from csdp.settings import get_settings
    from csdp.workflows.app import app, apply_settings
    from csdp.workflows.specs import get_catalog

    run = uuid.uuid4().hex[:8]
    env = {
        "CSDP_QUEUE_PREFIX": f"test-{run}-",
        "CSDP_RESULTS_EXCHANGE": f"csdp.results.test-{run}",
        "CSDP_SERVICES_PATH": json.dumps([str(SERVICES)]),
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    get_settings.cache_clear()
    get_catalog.cache_clear()
    apply_settings(app, get_settings())
    os.makedirs(get_settings().staging_dir, exist_ok=True)

    yield env

    settings = get_settings()
    _delete_broker_objects(app, settings)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    get_settings.cache_clear()
    get_catalog.cache_clear()
    apply_settings(app, get_settings())


def _delete_broker_objects(app, settings) -> None:
    from csdp.workflows.app import REALTIME, SCHEDULED, queue_name

    with app.connection_for_write() as connection:
        channel = connection.default_channel
        for kind in (REALTIME, SCHEDULED):
            name = queue_name(kind, settings)
            channel.queue_delete(name)
            channel.exchange_delete(name)
        channel.exchange_delete(settings.results_exchange)


class Worker:
    """A Celery worker subprocess with its output in a log file."""

    def __init__(self, log_path: Path, env: dict[str, str], concurrency: int) -> None:
        from csdp.settings import get_settings

        settings = get_settings()
        queues = f"{settings.queue_prefix}realtime,{settings.queue_prefix}scheduled"
        self.log_path = log_path
        self.command = [
            sys.executable, "-m", "celery", "-A", "csdp.workflows.app", "worker",
            "-P", "threads", "-c", str(concurrency), "-Q", queues,
            "-n", f"{settings.queue_prefix}{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip", "--without-mingle", "--loglevel", "INFO",
        ]
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen | None = None
        self._offset = 0

    def start(self) -> None:
        self._offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(self.command, env=self.env, stdout=log_file, stderr=subprocess.STDOUT)
        wait_for(lambda: " ready." in self.log()[self._offset:] or self.process.poll() is not None, WORKER_START_TIMEOUT, description="worker ready")
        assert self.process.poll() is None, f"worker exited at start:\n{self.log()[-3000:]}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def received(self) -> int:
        """Return how many task messages the worker logged as received so far."""
        return self.log().count("] received")

    def kill(self) -> None:
        """SIGKILL the worker, as when its machine or container dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=WORKER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


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

            return wait_for(arrived, timeout, description=f"notification of job {job_id}")[0]

        def count(self, job_id: str) -> int:
            """Return how many notifications of ``job_id`` arrived since the queue was bound."""
            return sum(1 for item in self.drain() if item["id"] == job_id)

    yield Reader()

    bound.delete()
    channel.close()
    connection.release()
