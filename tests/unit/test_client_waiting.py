"""Waiting for jobs: subscribe before reading, pushed results, the SSE fallback, failures and timeouts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from csdp.client.errors import ApiUnreachable, JobFailed, WaitTimeout
from csdp.client.sse import events, job_records
from csdp.client.waiting import RESULTS_EXCHANGE, wait_for_job


def record(state: str, **extra: Any) -> dict[str, Any]:
    return {"id": "job1", "owner": "alice", "service": "syslog", "action": "start", "state": state, **extra}


class FakeClient:
    """Job reads served from a list; every read and subscription goes into ``calls``."""

    def __init__(self, reads: list[dict[str, Any]], events: list[dict[str, Any]] | None = None) -> None:
        self.reads = list(reads)
        self.events = events or []
        self.calls: list[str] = []

    def job(self, job_id: str) -> dict[str, Any]:
        self.calls.append("read")
        return self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]

    def job_events(self, job_id: str, *, timeout: float | None = None):
        self.calls.append("events")
        yield from self.events


class FakeSubscription:
    def __init__(self, calls: list[str], pushed: list[dict[str, Any] | None]) -> None:
        self.calls = calls
        self.pushed = list(pushed)
        self.closed = False

    def next_record(self, timeout: float) -> dict[str, Any] | None:
        self.calls.append("next")
        return self.pushed.pop(0) if self.pushed else None

    def close(self) -> None:
        self.closed = True


def subscriber(client: FakeClient, pushed: list[dict[str, Any] | None], keys: list[tuple[str, str]]):
    subscriptions: list[FakeSubscription] = []

    def subscribe(exchange: str, routing_key: str) -> FakeSubscription:
        client.calls.append("subscribe")
        keys.append((exchange, routing_key))
        subscription = FakeSubscription(client.calls, pushed)
        subscriptions.append(subscription)
        return subscription

    subscribe.subscriptions = subscriptions
    return subscribe


def test_wait_reads_after_subscribing():
    # The job ends between the first read and the subscription: only a read
    # after subscribing can see it, since no message will be pushed any more.
    done = record("succeeded", result={"containers": []})
    client = FakeClient([record("running"), done])
    keys: list[tuple[str, str]] = []
    subscribe = subscriber(client, [], keys)

    result = wait_for_job(client, "job1", timeout=5, subscribe=subscribe)

    assert result == done
    assert client.calls == ["read", "subscribe", "read"]
    assert keys == [(RESULTS_EXCHANGE, "alice.job1")]
    assert subscribe.subscriptions[0].closed


def test_wait_takes_pushed_result():
    done = record("succeeded", result={"containers": [{"id": "c1"}]})
    client = FakeClient([record("queued"), record("running")])
    subscribe = subscriber(client, [done], [])

    result = wait_for_job(client, "job1", timeout=5, subscribe=subscribe)

    assert result == done
    assert client.calls == ["read", "subscribe", "read", "next"]


def test_wait_ignores_other_jobs_pushed():
    other = dict(record("succeeded"), id="job2")
    done = record("succeeded")
    client = FakeClient([record("queued"), record("running"), done])
    subscribe = subscriber(client, [other], [])

    assert wait_for_job(client, "job1", timeout=5, subscribe=subscribe) == done


def test_finished_job_skips_subscription():
    done = record("succeeded")
    client = FakeClient([done])
    subscribe = subscriber(client, [], [])

    assert wait_for_job(client, "job1", timeout=5, subscribe=subscribe) == done
    assert client.calls == ["read"]


def test_failed_job_raises_with_step_and_reason():
    error = {"code": "step_failed", "message": "network csdp-x not found", "details": {"step": "connect", "replica": 2}}
    client = FakeClient([record("running"), record("failed", error=error)])

    with pytest.raises(JobFailed) as caught:
        wait_for_job(client, "job1", timeout=5, subscribe=subscriber(client, [], []))

    assert caught.value.step == "connect"
    assert caught.value.replica == 2
    assert caught.value.reason == "network csdp-x not found"
    assert caught.value.message == "job job1 failed at step connect of replica 2: network csdp-x not found"
    assert caught.value.error.code == "step_failed"


def test_failed_job_uses_recorded_reason():
    error = {
        "code": "step_failed",
        "message": "step start of replica 1 failed: worker lost",
        "details": {"reason": "worker lost", "step": "start", "replica": 1},
    }
    client = FakeClient([record("failed", error=error)])

    with pytest.raises(JobFailed) as caught:
        wait_for_job(client, "job1", timeout=5)

    assert caught.value.reason == "worker lost"
    assert caught.value.message == "job job1 failed at step start of replica 1: worker lost"


def test_unreachable_broker_falls_back_to_events():
    done = record("succeeded")
    client = FakeClient([record("queued")], events=[record("running"), done])

    def subscribe(exchange: str, routing_key: str):
        raise ApiUnreachable("connection refused")

    assert wait_for_job(client, "job1", timeout=5, subscribe=subscribe) == done
    assert client.calls == ["read", "events"]


def test_events_without_broker_url():
    done = record("succeeded")
    client = FakeClient([record("queued")], events=[done])

    assert wait_for_job(client, "job1", timeout=5) == done


def test_wait_times_out():
    client = FakeClient([record("running")])

    with pytest.raises(WaitTimeout) as caught:
        wait_for_job(client, "job1", timeout=0.3, subscribe=subscriber(client, [None] * 100, []))

    assert caught.value.state == "running"
    assert "csdp jobs job1" in caught.value.message


def test_wait_reports_updates():
    seen: list[str] = []
    client = FakeClient([record("queued"), record("running")])
    subscribe = subscriber(client, [record("succeeded")], [])

    wait_for_job(client, "job1", timeout=5, subscribe=subscribe, on_update=lambda item: seen.append(item["state"]))

    assert seen == ["queued", "running", "succeeded"]


def test_sse_events_parse():
    lines = [b": keep-alive", b"", b"event: job", b'data: {"a":', b"data: 1}", b"", b"data: x", b""]
    assert list(events(lines)) == [("job", '{"a":\n1}'), ("message", "x")]


def test_sse_until_stops_keepalive_stream():
    from csdp.client.sse import until
    from csdp.errors import OperationTimeout

    def keepalives():
        while True:
            time.sleep(0.05)
            yield b": keep-alive"

    started = time.monotonic()
    with pytest.raises(OperationTimeout):
        list(until(keepalives(), time.monotonic() + 0.3, "stream"))
    assert time.monotonic() - started < 2


def test_sse_error_event_raises():
    from csdp.errors import NotFound

    lines = [b"event: error", b'data: {"code": "not_found", "message": "job expired"}', b""]
    with pytest.raises(NotFound, match="job expired"):
        list(job_records(lines))
