"""Ending jobs: cleanup after failure, the one notification, and housekeeping."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from test_workflows_fakes import fake_redis, fake_runtime, published  # noqa: F401

from csdp.workflows import finish, housekeeping, tasks
from csdp.workflows.jobs import JobStore


@pytest.fixture
def job(fake_redis):  # noqa: F811
    return JobStore().create("alice", "light", "start")


def test_fail_removes_job_containers(fake_redis, fake_runtime, published, tmp_path):  # noqa: F811
    staged = tmp_path / "staged.tar"
    staged.write_bytes(b"x")
    job = JobStore().create("alice", "light", "start", staged=[str(staged)])
    for replica in range(3):
        fake_runtime.add("alice", job_id=job.id, replica=replica)
    other = fake_runtime.add("alice", job_id="another")

    assert finish.fail_job_now(job.id, "boom", claimant="fail:1")
    assert list(fake_runtime.containers) == [other.id]
    assert not staged.exists()
    assert [record.state for record in published] == ["failed"]


def test_fail_keeps_first_step_reason(job, fake_runtime, published):  # noqa: F811
    JobStore().fail(job.id, "network missing", step="connect", replica=1)
    # The chord's error callback comes after the step failed the job.
    tasks.fail_job(None, RuntimeError("chord failed"), None, job.id)
    record = JobStore().get(job.id)
    assert record.error.details == {"reason": "network missing", "step": "connect", "replica": 1}
    assert len(published) == 1


def test_one_notification(job, fake_runtime, published):  # noqa: F811
    tasks.fail_job(None, RuntimeError("a"), None, job.id)
    tasks.fail_job(None, RuntimeError("b"), None, job.id)
    assert not finish.succeed_job(job.id, {}, claimant="finish:x")
    assert len(published) == 1
    assert JobStore().get(job.id).state == "failed"


def test_succeed_publishes_and_mails(fake_redis, fake_runtime, published, monkeypatch):  # noqa: F811
    from csdp.workflows import notify

    mailed = []
    monkeypatch.setattr(notify, "email_result", lambda record, address: mailed.append((record.state, address)))
    job = JobStore().create("alice", "light", "stop", email="qa@example.com")
    result = tasks.finish_targets.run(["c1"], job.id)
    assert result == {"result": "success", "containers": ["c1"]}
    assert [record.result for record in published] == [result]
    assert mailed == [("succeeded", "qa@example.com")]


def test_finish_start_lists_job_containers(job, fake_runtime, published):  # noqa: F811
    fake_runtime.add("alice", service="backend", job_id=job.id)
    fake_runtime.add("alice", job_id=job.id, replica=1)
    fake_runtime.add("alice", job_id=job.id, replica=0)
    result = tasks.finish_start.run([], job.id, "light")
    assert [(item["service"], item["replica"]) for item in result["containers"]] == [("light", 0), ("light", 1), ("backend", 0)]


def test_remove_expired(fake_runtime):  # noqa: F811
    now = datetime.now(timezone.utc)
    old = fake_runtime.add("alice", replica=0, expires_at=now - timedelta(seconds=1))
    fresh = fake_runtime.add("alice", replica=1, expires_at=now + timedelta(hours=1))
    assert [info.id for info in housekeeping.remove_expired(now=now)] == [old.id]
    assert list(fake_runtime.containers) == [fresh.id]


def test_remove_orphans(job, fake_runtime):  # noqa: F811
    now = datetime.now(timezone.utc)
    old = now - timedelta(minutes=5)
    failed = JobStore().create("alice", "light", "start")
    JobStore().fail(failed.id, "x")
    alive = fake_runtime.add("alice", job_id=job.id, created=old)
    young = fake_runtime.add("alice", job_id="missing", replica=1, created=now)
    orphans = [fake_runtime.add("alice", job_id="missing", created=old).id, fake_runtime.add("alice", job_id=failed.id, created=old).id]
    assert sorted(info.id for info in housekeeping.remove_orphans(now=now)) == sorted(orphans)
    assert sorted(fake_runtime.containers) == sorted([alive.id, young.id])


def test_lost_job_fails_once(job, fake_runtime, published):  # noqa: F811
    store = JobStore()
    store.record_step(job.id, "create", 0, "running")
    fake_runtime.add("alice", job_id=job.id)
    record_before = store.get(job.id)
    later = datetime.now(timezone.utc) + timedelta(seconds=120)

    assert housekeeping.end_lost_jobs(grace_seconds=60, now=later, live_job_ids={job.id}) == []
    assert record_before == store.get(job.id)
    assert housekeeping.end_lost_jobs(grace_seconds=60, now=later, live_job_ids=set()) == [job.id]
    assert housekeeping.end_lost_jobs(grace_seconds=60, now=later, live_job_ids=set()) == []

    record = store.get(job.id)
    assert record.state == "failed"
    assert record.error.details["reason"] == "worker lost"
    assert fake_runtime.containers == {}
    assert len(published) == 1


def test_failed_job_without_notification(job, fake_runtime, published):  # noqa: F811
    JobStore().fail(job.id, "x", step="start", replica=0)
    later = datetime.now(timezone.utc) + timedelta(minutes=10)
    assert housekeeping.end_lost_jobs(grace_seconds=60, now=later, live_job_ids=set()) == [job.id]
    assert JobStore().get(job.id).error.details["reason"] == "x"
    assert len(published) == 1


def test_live_tasks_by_job(monkeypatch):
    class Inspect:
        def active(self):
            return {"w1": [{"args": "('c1', 'job-a', 0)"}]}

        def reserved(self):
            return {"w1": [{"args": ["job-b", 1]}]}

    monkeypatch.setattr(housekeeping.app.control, "inspect", lambda timeout: Inspect())
    assert housekeeping.jobs_with_live_tasks(["job-a", "job-b", "job-c"]) == {"job-a", "job-b"}


def test_housekeeping_syncs_inventories(fake_runtime, monkeypatch):  # noqa: F811
    """Owners who lost expired containers get their inventory, such as a DNS zone, rewritten once."""
    now = datetime.now(timezone.utc)
    fake_runtime.add("alice", replica=0, expires_at=now - timedelta(seconds=1))
    fake_runtime.add("alice", replica=1, expires_at=now - timedelta(seconds=1))
    fake_runtime.add("bob", replica=0, expires_at=now + timedelta(hours=1))
    synced: list[str] = []
    monkeypatch.setattr(housekeeping, "sync_owner_inventory", lambda owner, job_id: synced.append(owner))
    monkeypatch.setattr(housekeeping, "end_lost_jobs", lambda: [])

    result = housekeeping.housekeeping.run()

    assert len(result["expired"]) == 2
    assert all(isinstance(container_id, str) for container_id in result["expired"])
    assert synced == ["alice"]
