"""Unit tests of schedules: time and cron checks, the per-user limit, claiming and dispatching."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import fakeredis
import pytest

from csdp.errors import InvalidInput, LimitExceeded, NotFound
from csdp.workflows import schedules
from csdp.workflows.cron import parse_cron
from csdp.workflows.schedules import ScheduleStore, cancel_schedule, dispatch, parse_at, submit_schedule

NOW = datetime(2026, 12, 4, 21, 0, 30, tzinfo=timezone.utc)


@pytest.fixture
def server():
    return fakeredis.FakeServer()


@pytest.fixture
def store(server):
    return ScheduleStore(fakeredis.FakeRedis(server=server, decode_responses=True), prefix="unit-")


@pytest.fixture
def started(monkeypatch):
    """Replace job submission with a list of the schedules that would have started."""
    runs = []
    lock = threading.Lock()

    def run(record, slot):
        with lock:
            runs.append((record["id"], slot))
            return f"job-{len(runs)}"

    monkeypatch.setattr(schedules, "run_schedule", run)
    return runs


def schedule(store, owner="alice", limit=10, **when):
    when = when or {"at": (NOW + timedelta(minutes=5)).isoformat()}
    return submit_schedule(owner, "test_client", "run", {"script": "print(1)"}, limit=limit, store=store, now=NOW, **when)


def test_at_in_past():
    with pytest.raises(InvalidInput) as error:
        parse_at("2026-12-04T20:00:00+00:00", NOW)
    assert error.value.field == "at"
    assert "in the past" in error.value.message
    assert "ISO 8601 with a timezone" in error.value.message


def test_at_without_timezone():
    with pytest.raises(InvalidInput) as error:
        parse_at("2026-12-05T09:00:00", NOW)
    assert error.value.field == "at"
    assert "without a timezone" in error.value.message


def test_at_not_iso():
    with pytest.raises(InvalidInput) as error:
        parse_at("tomorrow at nine", NOW)
    assert error.value.field == "at"
    assert "not ISO 8601" in error.value.message


def test_at_converted_to_utc():
    assert parse_at("2026-12-05T09:00:00+01:00", NOW) == datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("expression", ["61 * * * *", "* * *", "0 0 31 2 *", "0 0 * * 8", "every day"])
def test_cron_invalid(expression):
    with pytest.raises(InvalidInput) as error:
        parse_cron(expression)
    assert error.value.field == "cron"
    assert "minute hour day-of-month month day-of-week" in error.value.message


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("* * * * *", datetime(2026, 12, 4, 21, 1, tzinfo=timezone.utc)),
        ("*/15 * * * *", datetime(2026, 12, 4, 21, 15, tzinfo=timezone.utc)),
        ("0 2 * * mon-fri", datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)),
        ("0 0 1 1 *", datetime(2027, 1, 1, 0, 0, tzinfo=timezone.utc)),
        # Both day fields restricted: either matches, as in cron.
        ("0 0 13 * fri", datetime(2026, 12, 11, 0, 0, tzinfo=timezone.utc)),
    ],
)
def test_cron_next_run(expression, expected):
    assert parse_cron(expression).next_after(NOW) == expected


def test_schedule_needs_at_or_cron(store):
    with pytest.raises(InvalidInput) as error:
        submit_schedule("alice", "test_client", "run", {}, store=store, now=NOW)
    assert error.value.field == "at"
    assert "exactly one of at" in error.value.message


def test_schedule_both_at_and_cron(store):
    with pytest.raises(InvalidInput) as error:
        schedule(store, at=(NOW + timedelta(hours=1)).isoformat(), cron="* * * * *")
    assert "got at and cron" in error.value.message


def test_schedule_unknown_action(store):
    with pytest.raises(NotFound) as error:
        submit_schedule("alice", "test_client", "fly", {}, at="2026-12-05T09:00:00+00:00", store=store, now=NOW)
    assert error.value.field == "action"


def test_schedule_bad_parameter(store):
    with pytest.raises(InvalidInput) as error:
        submit_schedule("alice", "test_client", "run", {"runner": "ruby"}, at="2026-12-05T09:00:00+00:00", store=store, now=NOW)
    assert error.value.field == "parameters.runner"


def test_schedule_masks_script(store):
    created = schedule(store)
    assert created["parameters"]["script"] == "***"
    assert store.get(created["id"])["parameters"]["script"] == "print(1)"


def test_schedule_limit_per_user(store):
    for _ in range(3):
        schedule(store, limit=3)
    with pytest.raises(LimitExceeded) as error:
        schedule(store, limit=3)
    assert error.value.status == 429
    assert "the limit of 3" in error.value.message
    assert "csdp schedules cancel" in error.value.message
    schedule(store, owner="bob", limit=3)
    assert store.count("alice") == 3


def test_schedule_limit_parallel(store, server):
    errors = []

    def add():
        own = ScheduleStore(fakeredis.FakeRedis(server=server, decode_responses=True), prefix="unit-")
        try:
            schedule(own, limit=5)
        except LimitExceeded as exc:
            errors.append(exc)

    threads = [threading.Thread(target=add) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count("alice") == 5
    assert len(errors) == 7


def test_cancel_other_owner(store):
    created = schedule(store)
    with pytest.raises(NotFound):
        cancel_schedule("bob", created["id"], store=store)
    cancel_schedule("alice", created["id"], store=store)
    assert store.list_for_owner("alice") == []
    assert store.due_ids(NOW + timedelta(days=1)) == []


def test_dispatch_once_only(store, started):
    created = schedule(store)
    assert dispatch(store, NOW + timedelta(minutes=4)) == []
    assert dispatch(store, NOW + timedelta(minutes=5)) == ["job-1"]
    assert dispatch(store, NOW + timedelta(minutes=6)) == []
    assert [run[0] for run in started] == [created["id"]]
    assert store.list_for_owner("alice") == []


def test_dispatch_concurrent(store, server, started):
    created = schedule(store)
    due = NOW + timedelta(minutes=5)
    barrier = threading.Barrier(8)

    def run():
        own = ScheduleStore(fakeredis.FakeRedis(server=server, decode_responses=True), prefix="unit-")
        barrier.wait()
        dispatch(own, due)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [run[0] for run in started] == [created["id"]]


def test_dispatch_cron_next_slot(store, started):
    created = schedule(store, cron="*/10 * * * *")
    assert created["next_run"] == "2026-12-04T21:10:00+00:00"
    dispatch(store, datetime(2026, 12, 4, 21, 10, 3, tzinfo=timezone.utc))
    record = store.get(created["id"])
    assert record["next_run"] == "2026-12-04T21:20:00+00:00"
    assert record["last_job_id"] == "job-1"
    # A second dispatcher in the same period finds the next slot not yet due.
    dispatch(store, datetime(2026, 12, 4, 21, 10, 8, tzinfo=timezone.utc))
    assert len(started) == 1


def test_dispatch_skips_cancelled(store, started):
    created = schedule(store)
    store.client.delete(store.record_key.format(id=created["id"]))
    assert dispatch(store, NOW + timedelta(minutes=5)) == []
    assert started == []
