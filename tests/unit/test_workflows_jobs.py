"""JobStore over a fake Redis: states, progress, the one-winner guard and TTLs."""

from __future__ import annotations

import pytest
from test_workflows_fakes import fake_redis  # noqa: F401

from csdp.errors import NotFound
from csdp.workflows.jobs import JobStore


@pytest.fixture
def store(fake_redis):  # noqa: F811
    return JobStore(fake_redis, ttl_seconds=3600)


def test_create_queued(store):
    record = store.create("alice", "light", "start", {"greeting": "hi"}, email="qa@example.com")
    assert record.state == "queued"
    assert store.get(record.id) == record
    assert len(record.id) == 32
    assert store.context(record.id) == {"email": "qa@example.com", "staged": []}


def test_get_missing(store):
    assert store.get("nope") is None
    with pytest.raises(NotFound, match="'nope'"):
        store.require("nope")


def test_list_recent_first_with_limit(store):
    ids = [store.create("alice", "light", "start").id for _ in range(3)]
    store.create("bob", "light", "start")
    listed = [record.id for record in store.list_for_owner("alice", limit=2)]
    assert listed == [ids[2], ids[1]]


def test_record_step_upserts(store):
    job = store.create("alice", "light", "start")
    store.record_step(job.id, "create", 0, "running")
    record = store.record_step(job.id, "create", 0, "succeeded")
    assert record.state == "running"
    assert record.started is not None
    assert [(step.step, step.replica, step.state) for step in record.steps] == [("create", 0, "succeeded")]


def test_fail_names_step_and_reason(store):
    job = store.create("alice", "light", "start")
    record = store.fail(job.id, "network missing", step="connect", replica=1)
    assert record.state == "failed"
    assert record.error.message == "step connect of replica 1 failed: network missing"
    assert record.error.details == {"reason": "network missing", "step": "connect", "replica": 1}
    assert record.steps[-1].state == "failed"


def test_ended_job_unchanged(store):
    job = store.create("alice", "light", "start")
    store.fail(job.id, "first", step="create", replica=0)
    assert store.fail(job.id, "second", step="start", replica=1) is None
    assert store.succeed(job.id, {}) is None
    assert store.record_step(job.id, "info", 2, "running") is None
    assert store.get(job.id).error.details["reason"] == "first"


def test_update_missing_job(store):
    with pytest.raises(NotFound):
        store.record_step("gone", "create", 0, "running")


def test_finish_once_one_winner(store):
    job = store.create("alice", "light", "start")
    assert store.finish_once(job.id, "finish") is True
    assert store.finish_once(job.id, "fail") is False
    # A redelivered copy of the winner wins again until it has published.
    assert store.finish_once(job.id, "finish") is True
    store.mark_published(job.id)
    assert store.finish_once(job.id, "finish") is False
    assert store.is_finished(job.id)


def test_every_key_has_ttl(store, fake_redis):  # noqa: F811
    job = store.create("alice", "light", "start")
    store.record_step(job.id, "create", 0, "running")
    store.finish_once(job.id, "finish")
    store.mark_published(job.id)
    keys = fake_redis.keys("csdp:*")
    assert len(keys) == 4
    for key in keys:
        assert 0 < fake_redis.ttl(key) <= 3600, key


def test_list_in_states(store):
    queued = store.create("alice", "light", "start")
    running = store.create("alice", "light", "start")
    store.record_step(running.id, "create", 0, "running")
    store.finish_once(running.id, "x")
    found = {record.id for record in store.list_in_states(("running",))}
    assert found == {running.id}
    assert queued.id not in found


def test_get_rejects_other_keys(store):
    record = store.create("alice", "light", "start", email="qa@example.com")
    assert store.get(f"{record.id}:context") is None
    assert store.get(f"{record.id}:final") is None
    assert store.get(record.id.upper()) is None


def test_find_by_prefix(store):
    record = store.create("alice", "light", "start")
    store.create("bob", "light", "start")
    assert store.find_by_prefix("alice", record.id[:8]) == record
    assert store.find_by_prefix("alice", record.id[:12]) == record
    with pytest.raises(NotFound, match="at least 8"):
        store.find_by_prefix("alice", record.id[:7])
    with pytest.raises(NotFound, match="not found"):
        store.find_by_prefix("bob", record.id[:12])
