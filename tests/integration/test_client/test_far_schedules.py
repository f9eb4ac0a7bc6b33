"""Schedules far ahead under a short broker consumer timeout, and many schedules at once.

A broker that holds scheduled runs as ETA tasks keeps their messages
unacknowledged until they run; RabbitMQ then closes the worker's channel with
PRECONDITION_FAILED once the consumer timeout passes. Schedules here live in
Redis, so the worker holds no message for long.
"""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pika
import pytest
from schedule_testing import DISPATCH_PERIOD_SECONDS, MAX_SCHEDULES
from stack_testing import wait_for
from test_test_client import start_replicas, wait_job

pytestmark = pytest.mark.integration

CONSUMER_TIMEOUT_MS = 60_000
AHEAD_SECONDS = 180
ON_TIME_SECONDS = 10
MANY_SCHEDULES = 2000
MAX_RSS_GROWTH_BYTES = 100 * 1024 * 1024
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def rabbitmqctl_eval(expression: str) -> str:
    completed = subprocess.run(["rabbitmqctl", "eval", expression], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.strip()


@pytest.fixture
def short_consumer_timeout():
    """Set the broker's consumer timeout to 60 s for channels opened from now on; restore it afterwards.

    RabbitMQ 3.10 has no consumer timeout per queue or per vhost (queue
    arguments for it came in 3.12), so the node setting changes for a few
    minutes and is put back even when the test fails.
    """
    original = rabbitmqctl_eval("application:get_env(rabbit, consumer_timeout).")
    rabbitmqctl_eval(f"application:set_env(rabbit, consumer_timeout, {CONSUMER_TIMEOUT_MS}).")
    yield CONSUMER_TIMEOUT_MS
    match = re.fullmatch(r"\{ok,(\d+)\}", original)
    if match:
        rabbitmqctl_eval(f"application:set_env(rabbit, consumer_timeout, {match.group(1)}).")
    else:
        rabbitmqctl_eval("application:unset_env(rabbit, consumer_timeout).")


class HeldMessage:
    """A consumer that never acknowledges its message, which the broker must close after the consumer timeout."""

    def __init__(self) -> None:
        self.connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        self.channel = self.connection.channel()
        queue = f"test-held-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(queue, exclusive=True, auto_delete=True)
        self.channel.basic_publish("", queue, b"held")
        # The generator raises ChannelClosedByBroker once the broker closes the channel.
        self.deliveries = self.channel.consume(queue, auto_ack=False, inactivity_timeout=0)
        self.closed_code: int | None = None

    def poll(self) -> None:
        if self.closed_code is not None:
            return
        try:
            next(self.deliveries)
        except pika.exceptions.ChannelClosedByBroker as exc:
            self.closed_code = exc.reply_code

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def run_jobs(client) -> list[dict]:
    return [job for job in client.get("/jobs").json() if job["action"] == "run"]


@pytest.mark.slow
def test_schedule_three_minutes_ahead(short_consumer_timeout, platform, user, mailbox):
    worker = platform()
    held = HeldMessage()
    name, client = user
    start_replicas(client, 1)
    due = datetime.now(timezone.utc) + timedelta(seconds=AHEAD_SECONDS)
    created = client.post("/schedules", json={
        "service": "test_client", "action": "run", "at": due.isoformat(), "email": "qa@example.com",
        "parameters": {"runner": "python", "script": "import time\nprint('scheduled ran at', time.time())\n"},
    })  # fmt: skip
    assert created.status_code == 201, created.text

    def started():
        held.poll()
        return run_jobs(client)

    try:
        job = wait_for(started, AHEAD_SECONDS + 60, "scheduled job", interval=1)[0]
        record = wait_job(client, job["id"])
        wait_for(lambda: mailbox.about(job["id"]), 30, "result e-mail")
        wait_for(lambda: held.poll() or held.closed_code is not None, 90, "consumer timeout of the held message", interval=1)
        time.sleep(5 * DISPATCH_PERIOD_SECONDS)
    finally:
        held.close()

    assert record["state"] == "succeeded", record
    output = record["result"]["outputs"][0]["output"]
    ran_at = float(output.split("scheduled ran at")[1].split()[0])
    assert abs(ran_at - due.timestamp()) <= ON_TIME_SECONDS, (ran_at, due.timestamp())
    assert len(run_jobs(client)) == 1
    assert len(mailbox.about(job["id"])) == 1
    # The broker did enforce the short timeout on a consumer that held a message...
    assert held.closed_code == 406
    # ...and the worker never held one that long.
    assert "PRECONDITION_FAILED" not in worker.log()
    assert worker.alive()


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def queued_messages(api_env) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        prefix = api_env["CSDP_QUEUE_PREFIX"]
        return sum(channel.queue_declare(prefix + kind, passive=True).method.message_count for kind in ("realtime", "scheduled"))
    finally:
        connection.close()


def test_many_schedules(platform, user, api_env):
    worker = platform()
    name, client = user
    time.sleep(3 * DISPATCH_PERIOD_SECONDS)
    rss_before = rss_bytes(worker.process.pid)
    body = {"service": "test_client", "action": "run", "parameters": {"script": "print(1)"}}

    statuses = Counter()
    rejected = None
    for index in range(MANY_SCHEDULES):
        at = datetime.now(timezone.utc) + timedelta(days=1, seconds=index)
        response = client.post("/schedules", json={**body, "at": at.isoformat()})
        statuses[response.status_code] += 1
        if response.status_code == 429 and rejected is None:
            rejected = response.json()
    time.sleep(3 * DISPATCH_PERIOD_SECONDS)
    rss_after = rss_bytes(worker.process.pid)

    assert statuses == {201: MAX_SCHEDULES, 429: MANY_SCHEDULES - MAX_SCHEDULES}
    assert rejected["code"] == "limit_exceeded"
    assert f"the limit of {MAX_SCHEDULES}" in rejected["message"]
    assert len(client.get("/schedules").json()) == MAX_SCHEDULES
    assert queued_messages(api_env) <= 2
    assert rss_after - rss_before < MAX_RSS_GROWTH_BYTES, (rss_before, rss_after)
    assert worker.alive()
