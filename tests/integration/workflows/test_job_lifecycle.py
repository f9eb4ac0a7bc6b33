"""Workflows against the real engine, RabbitMQ and Redis, with a worker subprocess."""

from __future__ import annotations

import email
import email.policy
import json
import re
import time

import pytest
import redis

from csdp.settings import get_settings
from csdp.wire import JobRecord

from stack_testing import free_port, wait_for

pytestmark = pytest.mark.integration

LIMITS = {"max_containers": 30, "max_replicas": 30}
SERVICE = "sleeper"


def start(owner: str, num: int, email: str | None = None) -> JobRecord:
    from csdp.workflows.submit import submit_start

    return submit_start(owner, SERVICE, num, {}, 600, email, **LIMITS)


def job_containers(job_id: str):
    from csdp.runtime import get_runtime

    return get_runtime().list(job_id=job_id)


def record_of(job_id: str) -> JobRecord:
    from csdp.workflows.jobs import JobStore

    return JobStore().get(job_id)


def test_start_three_replicas(start_worker, results, owner):
    from csdp.workflows.submit import submit_delete

    start_worker()
    job = start(owner, 3)
    pushed = results.wait(job.id, timeout=60)
    started_ids = sorted(item["id"] for item in pushed["result"]["containers"])

    assert pushed["state"] == "succeeded"
    assert [item["replica"] for item in pushed["result"]["containers"]] == [0, 1, 2]
    assert all(item["status"] == "running" for item in pushed["result"]["containers"])
    assert all(item["ip_address"] for item in pushed["result"]["containers"])
    assert record_of(job.id).state == "succeeded"
    assert sorted(info.status for info in job_containers(job.id)) == ["running"] * 3
    time.sleep(2)
    assert results.count(job.id) == 1, "not exactly one notification"

    delete = submit_delete(owner, started_ids)
    pushed = results.wait(delete.id, timeout=60)
    assert pushed["state"] == "succeeded"
    assert sorted(pushed["result"]["containers"]) == started_ids
    assert job_containers(job.id) == []


def test_email_notification(start_worker, results, owner):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        start_worker(CSDP_SMTP_HOST="127.0.0.1", CSDP_SMTP_PORT=str(port), CSDP_SMTP_FROM="csdp@test.invalid")
        job = start(owner, 1, email="qa@test.invalid")
        results.wait(job.id, timeout=60)
        wait_for(lambda: received, 10, description="e-mail")
    finally:
        controller.stop()

    envelope = received[0]
    assert envelope.mail_from == "csdp@test.invalid"
    assert envelope.rcpt_tos == ["qa@test.invalid"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Subject"] == f"csdp job {job.id} succeeded: start of {SERVICE}"
    body = json.loads(message.get_content())
    assert body["id"] == job.id
    assert len(body["result"]["containers"]) == 1


def test_f01_middle_step_fails(start_worker, results, owner):
    worker = start_worker(CSDP_FAIL_STEP="connect:1")
    job = start(owner, 3)

    def failed():
        record = record_of(job.id)
        return record if record.state == "failed" else None

    started = time.monotonic()
    record = wait_for(failed, 30, description="job failed")
    assert record.error.details["step"] == "connect"
    assert record.error.details["replica"] == 1
    assert "CSDP_FAIL_STEP=connect:1" in record.error.details["reason"]
    assert "step connect of replica 1 failed" in record.error.message

    pushed = results.wait(job.id, timeout=30 - (time.monotonic() - started))
    assert pushed["state"] == "failed"
    assert pushed["error"]["details"]["step"] == "connect"
    wait_for(lambda: job_containers(job.id) == [], 30 - (time.monotonic() - started), description="containers removed")

    # Nothing keeps running for the job afterwards.
    received = worker.received()
    final = record_of(job.id)
    time.sleep(4)
    assert worker.received() == received
    assert record_of(job.id) == final
    assert job_containers(job.id) == []
    assert results.count(job.id) == 1, "not exactly one notification"
    assert _queue_depth("realtime") == 0


def test_f02_worker_killed(start_worker, results, owner):
    from csdp.workflows import housekeeping

    num = 10
    worker = start_worker()
    job = start(owner, num)

    # Kill the worker while the job is half way.
    wait_for(lambda: 2 <= len(job_containers(job.id)) and record_of(job.id).state == "running", 30, interval=0.05, description="job half way")
    worker.kill()
    assert record_of(job.id).state == "running"

    start_worker()
    try:
        pushed = results.wait(job.id, timeout=60)
    except pytest.fail.Exception:
        # Beat runs this pass in a deployment; here it runs once with a short grace.
        housekeeping.end_lost_jobs(grace_seconds=10)
        pushed = results.wait(job.id, timeout=30)

    record = record_of(job.id)
    assert record.state in ("succeeded", "failed")
    containers = job_containers(job.id)
    if record.state == "succeeded":
        assert len(containers) == num
        assert sorted(info.replica for info in containers) == list(range(num))
        assert all(info.status == "running" for info in containers)
        assert len(record.result["containers"]) == num
    else:
        assert record.error.details["reason"] == "worker lost"
        assert containers == []
    assert pushed["state"] == record.state
    time.sleep(3)
    assert results.count(job.id) == 1, "not exactly one notification"


def test_keys_have_ttl(start_worker, results, owner):
    # Runs last in this file, so the keys of the failed and redelivered jobs above are checked too.
    start_worker()
    job = start(owner, 2)
    results.wait(job.id, timeout=60)

    client = redis.Redis.from_url(get_settings().redis_url, decode_responses=True)
    checked = 0
    for key in client.scan_iter(count=1000):
        # Accounts, their tokens and schedules persist on purpose; every other key must expire.
        if key.startswith(("csdp:user:", "csdp:token:")) or re.match(r"csdp:[^:]*schedules?:", key):
            continue
        ttl = client.ttl(key)
        assert ttl > 0 or ttl == -2, f"{key} has no TTL ({ttl})"
        checked += 1
    assert client.ttl(f"csdp:job:{job.id}") > 0
    assert client.ttl(f"csdp:jobs:{owner}") > 0
    assert client.ttl(f"csdp:job:{job.id}:final") > 0
    assert any(key.startswith("celery-task-meta-") for key in client.scan_iter(match="celery-task-meta-*", count=1000))
    assert checked >= 4


def _queue_depth(kind: str) -> int:
    from csdp.workflows.app import app, queue_name

    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue_name(kind), passive=True).message_count
