"""The per-user container limit holds for concurrent starts, with reservations of unfinished start jobs."""

from __future__ import annotations

import threading
import time

import pytest
from test_workflows_fakes import catalog, fake_redis, fake_runtime, published  # noqa: F401

from csdp.errors import LimitExceeded
from csdp.workflows import finish, submit
from csdp.workflows.jobs import JobStore
from csdp.workflows.reservations import RESERVED_KEY, Reservations


@pytest.fixture
def sent(monkeypatch, fake_redis, fake_runtime, catalog):  # noqa: F811
    workflows = []
    monkeypatch.setattr(submit, "_send", lambda store, record, workflow: workflows.append(workflow))
    return workflows


def _slow_list(fake_runtime, monkeypatch):  # noqa: F811
    # Widens the window between counting and reserving, where concurrent submits would both pass.
    original = fake_runtime.list

    def slow(**filters):
        time.sleep(0.05)
        return original(**filters)

    monkeypatch.setattr(fake_runtime, "list", slow)


def test_concurrent_starts_respect_limit(sent, fake_runtime, monkeypatch):  # noqa: F811
    for replica in range(5):
        fake_runtime.add("alice", replica=replica)
    _slow_list(fake_runtime, monkeypatch)
    outcomes: list[str] = []

    def start() -> None:
        try:
            submit.submit_start("alice", "light", 5, {}, None, None, max_containers=15, max_replicas=5)
            outcomes.append("queued")
        except LimitExceeded:
            outcomes.append("limit")

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["limit", "queued", "queued"]
    assert len(sent) == 2


def test_reservation_counts_until_job_ends(sent, fake_runtime, published):  # noqa: F811
    first = submit.submit_start("alice", "light", 4, {}, None, None, max_containers=6, max_replicas=5)
    with pytest.raises(LimitExceeded) as caught:
        submit.submit_start("alice", "light", 3, {}, None, None, max_containers=6, max_replicas=5)
    assert caught.value.details == {"limit": 6, "current": 0, "requested": 3, "reserved": 4}

    # Containers the job created count once, not as container and reservation both.
    for replica in range(2):
        fake_runtime.add("alice", job_id=first.id, replica=replica)
    assert Reservations().count("alice", lambda: fake_runtime.list(owner="alice")) == (2, 2)

    finish.succeed_job(first.id, {}, claimant=f"finish:{first.id}")
    assert JobStore().client.hget(RESERVED_KEY.format(owner="alice"), first.id) is None
    submit.submit_start("alice", "light", 3, {}, None, None, max_containers=6, max_replicas=5)


def test_failed_job_releases(sent, fake_runtime, published):  # noqa: F811
    job = submit.submit_start("alice", "light", 5, {}, None, None, max_containers=5, max_replicas=5)
    finish.fail_job_now(job.id, "boom", claimant=f"fail:{job.id}")
    submit.submit_start("alice", "light", 5, {}, None, None, max_containers=5, max_replicas=5)


def test_ended_job_entry_dropped(fake_redis, fake_runtime):  # noqa: F811
    store = JobStore()
    job = store.create("alice", "light", "start")
    Reservations(store).reserve("alice", job.id, 3)
    Reservations(store).reserve("alice", "0" * 32, 3)  # a job whose record expired
    store.fail(job.id, "gone")
    assert Reservations(store).count("alice", lambda: []) == (0, 0)
    assert fake_redis.hlen(RESERVED_KEY.format(owner="alice")) == 0


def test_lock_excludes(fake_redis):  # noqa: F811
    reservations = Reservations()
    inside: list[int] = []
    peak: list[int] = []

    def hold() -> None:
        with reservations.locked("alice"):
            inside.append(1)
            peak.append(len(inside))
            time.sleep(0.02)
            inside.pop()

    threads = [threading.Thread(target=hold) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert max(peak) == 1
    assert fake_redis.get("csdp:reserve-lock:alice") is None
