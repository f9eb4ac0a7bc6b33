"""Job routes over a real JobStore in fake Redis: id checks and unique prefixes of the caller's jobs."""

from __future__ import annotations

import fakeredis
import pytest
from test_api_routes import fakes  # noqa: F401

from api_fakes import ALICE, BOB, ROOT, auth
from csdp.api import deps
from csdp.wire import JobRecord
from csdp.workflows.jobs import JobStore


@pytest.fixture
def jobs(fakes):  # noqa: F811
    client = fakes[0]
    store = JobStore(fakeredis.FakeRedis(decode_responses=True), ttl_seconds=3600)
    client.app.dependency_overrides[deps.get_job_store] = lambda: store
    return client, store


def with_id(store: JobStore, job_id: str, owner: str = "alice") -> JobRecord:
    """Copy a new job of ``owner`` under a chosen id, so tests can share prefixes."""
    record = store.create(owner, "syslog", "start")
    record = record.model_copy(update={"id": job_id})
    store.client.set(f"csdp:job:{job_id}", record.model_dump_json())
    store.client.zadd(f"csdp:jobs:{owner}", {job_id: record.created.timestamp()})
    return record


@pytest.mark.parametrize("suffix", [":context", ":final", "XYZ"])
def test_malformed_id_is_404(jobs, suffix):
    client, store = jobs
    record = store.create("alice", "syslog", "start")
    answer = client.get(f"/api/v1/jobs/{record.id}{suffix}", headers=auth(ALICE))
    assert answer.status_code == 404
    assert answer.json()["field"] == "job_id"
    events = client.get(f"/api/v1/jobs/{record.id}{suffix}/events", headers=auth(ALICE))
    assert events.status_code == 404


def test_uppercase_full_id_is_404(jobs):
    client, store = jobs
    record = store.create("alice", "syslog", "start")
    assert client.get(f"/api/v1/jobs/{record.id.upper()}", headers=auth(ALICE)).status_code == 404


def test_prefix_of_own_job(jobs):
    client, store = jobs
    record = store.create("alice", "syslog", "start")
    answer = client.get(f"/api/v1/jobs/{record.id[:12]}", headers=auth(ALICE))
    assert answer.status_code == 200
    assert answer.json()["id"] == record.id


def test_prefix_events_follow_full_id(jobs):
    client, store = jobs
    record = store.create("alice", "syslog", "start")
    store.succeed(record.id, {"containers": []})
    answer = client.get(f"/api/v1/jobs/{record.id[:8]}/events", headers=auth(ALICE))
    assert answer.status_code == 200
    assert f'"id":"{record.id}"' in answer.text
    assert '"state":"succeeded"' in answer.text


def test_prefix_too_short_is_404(jobs):
    client, store = jobs
    record = store.create("alice", "syslog", "start")
    answer = client.get(f"/api/v1/jobs/{record.id[:7]}", headers=auth(ALICE))
    assert answer.status_code == 404
    assert "at least 8" in answer.json()["message"]


def test_prefix_of_others_job_is_404(jobs):
    client, store = jobs
    theirs = store.create("bob", "syslog", "start")
    assert client.get(f"/api/v1/jobs/{theirs.id[:12]}", headers=auth(ALICE)).status_code == 404
    assert client.get(f"/api/v1/jobs/{theirs.id[:12]}", headers=auth(BOB)).status_code == 200
    # Prefixes match the caller's own jobs, admins included; full ids reach any job.
    assert client.get(f"/api/v1/jobs/{theirs.id[:12]}", headers=auth(ROOT)).status_code == 404
    assert client.get(f"/api/v1/jobs/{theirs.id}", headers=auth(ROOT)).status_code == 200


def test_ambiguous_prefix_is_404(jobs):
    client, store = jobs
    with_id(store, "dfbc20ab0d25" + "1" * 20)
    with_id(store, "dfbc20ab0d25" + "2" * 20)
    answer = client.get("/api/v1/jobs/dfbc20ab0d25", headers=auth(ALICE))
    assert answer.status_code == 404
    assert "matches 2 of your jobs" in answer.json()["message"]
    assert client.get("/api/v1/jobs/dfbc20ab0d251", headers=auth(ALICE)).json()["id"] == "dfbc20ab0d25" + "1" * 20
