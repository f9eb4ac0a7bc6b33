"""End to end through the compose stack: the real CLI via nginx, a stopped API replica, a stopped and a killed worker, a broker restart and a killed Redis."""

from __future__ import annotations

import ipaddress
import json
import threading
import time

import httpx
import pytest

from deploy_helpers import job_id_of, wait_for

# The first test also waits for `csdp deploy up`, which may build the platform image.
pytestmark = [pytest.mark.integration, pytest.mark.deploy, pytest.mark.timeout(1200)]

JOB_END_SECONDS = 240
TERMINAL = ("succeeded", "failed")
# Requests sent through nginx, 0.1 s apart, while one API replica stops.
REQUESTS_DURING_STOP = 60


def _wait_job_end(stack, job_id: str, timeout: float = JOB_END_SECONDS, *, reconcile: bool = True) -> dict:
    """Return the record once the job ended; with ``reconcile``, run housekeeping on the way as beat would."""
    deadline = time.monotonic() + timeout
    last_reconcile = 0.0
    while True:
        record = stack.job(job_id)
        if record is not None and record["state"] in TERMINAL:
            return record
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} still {record and record['state']} after {timeout} s")
        if reconcile and time.monotonic() - last_reconcile > 15:
            stack.reconcile()
            last_reconcile = time.monotonic()
        time.sleep(1)


def _delete_all(stack) -> None:
    stack.cli("syslog", "delete", "--timeout", "120")


def test_cli_through_nginx(stack):
    started = stack.cli("syslog", "start", "--json", "--timeout", "120")
    containers = json.loads(started.stdout)["containers"]
    shown = json.loads(stack.cli("syslog", "show", "--json").stdout)
    _delete_all(stack)
    after = json.loads(stack.cli("syslog", "show", "--json").stdout)

    assert len(containers) == 1
    assert [item["id"] for item in shown] == [containers[0]["id"]]
    assert ipaddress.ip_address(shown[0]["ip_address"]) in ipaddress.ip_network(stack.env["CSDP_SUBNET_V4"])
    assert after == []


def test_metrics_through_nginx(stack):
    with stack.http() as client:
        response = client.get(f"{stack.url}/metrics")

    assert response.status_code == 200
    assert 'csdp_metrics_source_up{source="redis"} 1.0' in response.text
    assert 'csdp_metrics_source_up{source="engine"} 1.0' in response.text
    assert "csdp_jobs{" in response.text


def test_api_replica_stop_keeps_serving(stack):
    replica = stack.containers("api")[0]
    statuses = []
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        stopper = threading.Thread(target=replica.stop, kwargs={"timeout": 45})
        stopper.start()
        for _ in range(REQUESTS_DURING_STOP):
            statuses.append(client.get("/api/v1/health").status_code)
            time.sleep(0.1)
        stopper.join()
    replica.start()
    wait_for(lambda: stack.health(replica) == "healthy", 120, "stopped API replica healthy again")

    assert statuses == [200] * REQUESTS_DURING_STOP


def test_worker_killed_mid_start(stack):
    replicas = 20
    job_id = job_id_of(stack.cli("syslog", "start", "--no-wait", "--json", "-n", str(replicas)).stdout)
    wait_for(lambda: (stack.job(job_id) or {}).get("steps"), 30, f"first step of job {job_id}", interval=0.1)
    victim = stack.containers("worker")[0]
    state_at_kill = stack.job(job_id)["state"]
    victim.kill()
    time.sleep(3)
    victim.start()

    record = _wait_job_end(stack, job_id)
    assert state_at_kill in ("queued", "running")
    if record["state"] == "failed":
        assert "worker lost" in record["error"]["message"]
        wait_for(lambda: stack.reconcile() and not stack.job_containers(job_id), 200, f"no container of job {job_id}", interval=10)
    else:
        labels = [container.labels for container in stack.job_containers(job_id)]
        assert len(labels) == replicas
        assert len({item["io.csdp.replica"] for item in labels}) == replicas
    _delete_all(stack)


def test_worker_stop_mid_start(stack):
    replicas = 20
    job_id = job_id_of(stack.cli("syslog", "start", "--no-wait", "--json", "-n", str(replicas)).stdout)
    wait_for(lambda: (stack.job(job_id) or {}).get("steps"), 30, f"first step of job {job_id}", interval=0.1)
    worker = stack.containers("worker")[0]
    state_at_stop = stack.job(job_id)["state"]
    # SIGTERM: Celery's warm shutdown finishes running tasks and returns the others to the queue.
    worker.stop(timeout=30)
    worker.start()

    record = _wait_job_end(stack, job_id, reconcile=False)
    labels = [container.labels for container in stack.job_containers(job_id)]

    assert state_at_stop in ("queued", "running")
    assert record["state"] == "succeeded"
    assert len(labels) == replicas
    assert len({item["io.csdp.replica"] for item in labels}) == replicas
    _delete_all(stack)


def test_rabbitmq_restart_keeps_jobs(stack):
    # Paused workers leave the jobs in the broker's queue during the restart.
    workers = stack.containers("worker")
    for worker in workers:
        worker.pause()
    try:
        job_ids = [job_id_of(stack.cli("syslog", "start", "--no-wait", "--json", "-n", "3").stdout) for _ in range(4)]
        queued = [stack.job(job_id)["state"] for job_id in job_ids]
        broker = stack.containers("rabbitmq")[0]
        broker.restart(timeout=30)
        wait_for(lambda: stack.health(broker) == "healthy", 120, "RabbitMQ healthy after its restart")
    finally:
        for worker in workers:
            worker.unpause()

    # Without housekeeping: a job that waits out the restart must run, not end as "worker lost".
    records = {job_id: _wait_job_end(stack, job_id, reconcile=False) for job_id in job_ids}

    assert queued == ["queued"] * len(job_ids)
    for job_id, record in records.items():
        assert record["state"] == "succeeded", job_id
    stack.wait_ready()
    _delete_all(stack)


def test_redis_restart_keeps_records(stack):
    job_id = job_id_of(stack.cli("syslog", "start", "--no-wait", "--json").stdout)
    before = _wait_job_end(stack, job_id)
    # SIGKILL skips the snapshot Redis writes on a clean shutdown, so only the
    # append-only file (flushed every second) can bring the record back.
    time.sleep(2)
    redis = stack.containers("redis")[0]
    redis.kill()
    redis.start()

    after = wait_for(lambda: stack.job(job_id), 90, f"job {job_id} readable after the Redis restart")
    stack.wait_ready()
    shown = stack.cli("syslog", "show", "--json")

    assert after["state"] == before["state"] == "succeeded"
    assert after["result"] == before["result"]
    assert len(json.loads(shown.stdout)) == 1
    _delete_all(stack)
