"""Replica counts that make no sense are rejected before anything reaches the broker."""

from __future__ import annotations

import httpx
import pytest

from api_helpers import succeeded

pytestmark = pytest.mark.integration

USER_LIMIT = 5
INVALID_BODIES = [{"num": -1}, {"num": 0}, {"num": 100000}, {"num": "3"}, {"num": 2.5}, {"num": None}, {}, None]


def realtime_depth() -> int:
    from csdp.workflows.app import REALTIME, app, queue_name

    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue=queue_name(REALTIME), passive=True).message_count


def test_start_invalid_num(api_url, worker, make_user, runtime):
    name, client = make_user(api_url, max_replicas_per_request=USER_LIMIT)
    received_before = worker.log().count("] received")

    for body in INVALID_BODIES:
        answer = client.post("/services/syslog/start", json=body) if body is not None else client.post("/services/syslog/start")
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()
        assert error["field"] == "num", (body, error)
        assert f"from 1 to {USER_LIMIT}" in error["message"], (body, error)

    assert realtime_depth() == 0
    assert worker.log().count("] received") == received_before
    assert client.get("/jobs").json() == []
    assert runtime.list(owner=name) == []
    assert httpx.get(f"{api_url}/api/v1/health", timeout=5).status_code == 200

    record = succeeded(client, client.post("/services/syslog/start", json={"num": 3}))
    assert len(record["result"]["containers"]) == 3
    running = [item for item in client.get("/containers").json() if item["status"] == "running"]
    assert len(running) == 3
    assert len(runtime.list(owner=name)) == 3


def test_start_past_container_limit(api_url, worker, make_user):
    _, client = make_user(api_url, max_containers=2)
    answer = client.post("/services/syslog/start", json={"num": 3})
    assert answer.status_code == 429
    assert answer.json()["code"] == "limit_exceeded"
    assert "limit of 2" in answer.json()["message"]
    assert client.get("/jobs").json() == []


def test_start_ttl_past_maximum(api_url, worker, make_user):
    _, client = make_user(api_url)
    answer = client.post("/services/syslog/start", json={"num": 1, "ttl_seconds": 10**9})
    assert answer.status_code == 422
    assert answer.json()["field"] == "ttl_seconds"
