"""Housekeeping, run by beat on the ``scheduled`` queue every ``CSDP_HOUSEKEEPING_INTERVAL_SECONDS``.

- Containers past their ``io.csdp.expires`` label are removed.
- Orphans are removed: managed containers whose job failed or whose record is
  gone (older than ``ORPHAN_MIN_AGE`` so a job being submitted is not hit).
- Lost jobs end: a queued or running job without progress for
  ``CSDP_STUCK_JOB_GRACE_SECONDS`` and without a live task fails with the reason
  "worker lost", and a failed job whose notification never went out gets it.

Only this deployment's containers are considered (the runtime lists those
labelled with ``CSDP_DEPLOYMENT``), so another deployment's containers on the
same engine are never taken for orphans.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from csdp.runtime import ContainerInfo, get_runtime
from csdp.settings import get_settings
from csdp.wire import JobRecord
from csdp.workflows import finish
from csdp.workflows.app import app
from csdp.workflows.inventory import sync_owner_inventory
from csdp.workflows.jobs import JobStore
from csdp.workflows.steps import describe

log = logging.getLogger(__name__)

ORPHAN_MIN_AGE = timedelta(minutes=2)
# A failed job gets this long for its own error callback to notify before housekeeping does.
NOTIFY_GRACE = timedelta(minutes=2)
WORKER_LOST = "worker lost"
INSPECT_TIMEOUT_SECONDS = 2.0


@app.task(name="csdp.workflows.housekeeping.housekeeping")
def housekeeping() -> dict[str, Any]:
    """Run every housekeeping pass and return what each did.

    Safe to run twice or concurrently: removal of a gone container counts as
    done, and ending a job is claimed once in the job store.
    """
    expired = remove_expired()
    orphans = remove_orphans()
    lost_jobs = end_lost_jobs()
    _sync_inventories(expired + orphans)
    return {
        "expired": [info.id for info in expired],
        "orphans": [info.id for info in orphans],
        "lost_jobs": lost_jobs,
    }


def _sync_inventories(removed: list[ContainerInfo]) -> None:
    """Update the container inventory of each owner who lost containers in this pass, such as a DNS zone."""
    for owner in sorted({info.owner for info in removed}):
        sync_owner_inventory(owner, "housekeeping")


def remove_expired(*, owner: str | None = None, now: datetime | None = None) -> list[ContainerInfo]:
    """Remove containers whose expiry time has passed and return them; ``owner`` limits the pass."""
    now = now or datetime.now(timezone.utc)
    runtime = get_runtime()
    removed = []
    for info in runtime.list(owner=owner):
        if info.expires_at is not None and info.expires_at <= now:
            runtime.remove(info.id)
            removed.append(info)
            log.info("%s: removed the container because it expired at %s", describe(info.job_id, info.id, info.replica), info.expires_at.isoformat())
    return removed


def remove_orphans(*, owner: str | None = None, now: datetime | None = None, store: JobStore | None = None) -> list[ContainerInfo]:
    """Remove containers whose job failed or no longer exists and return them."""
    now = now or datetime.now(timezone.utc)
    store = store or JobStore()
    runtime = get_runtime()
    removed = []
    for info in runtime.list(owner=owner):
        if now - info.created < ORPHAN_MIN_AGE:
            continue
        record = store.get(info.job_id)
        if record is not None and record.state != "failed":
            continue
        runtime.remove(info.id)
        removed.append(info)
        cause = "its job failed" if record is not None else "its job record is gone"
        log.info("%s: removed the orphaned container because %s", describe(info.job_id, info.id, info.replica), cause)
    return removed


def end_lost_jobs(*, grace_seconds: int | None = None, now: datetime | None = None, store: JobStore | None = None, live_job_ids: set[str] | None = None) -> list[str]:
    """Fail stuck jobs as worker lost and notify failed jobs that were never notified; return their ids.

    ``live_job_ids`` are the jobs with a task on some worker; by default the
    workers are asked.
    """
    now = now or datetime.now(timezone.utc)
    grace = timedelta(seconds=grace_seconds if grace_seconds is not None else get_settings().stuck_job_grace_seconds)
    store = store or JobStore()
    ended = []

    candidates = []
    for record in store.list_in_states(("queued", "running", "failed")):
        if record.state == "failed":
            if not store.is_finished(record.id) and record.finished and now - record.finished > NOTIFY_GRACE:
                candidates.append(record)
        elif now - last_progress(record) > grace:
            candidates.append(record)
    if not candidates:
        return ended

    if live_job_ids is None:
        live_job_ids = jobs_with_live_tasks([record.id for record in candidates])
    for record in candidates:
        if record.state != "failed" and record.id in live_job_ids:
            continue
        if record.state == "failed":
            log.warning("%s: failed without a notification, cleaning up and notifying now", describe(record.id))
        else:
            log.warning("%s: no progress since %s and no live task, failing it as %s", describe(record.id), last_progress(record).isoformat(), WORKER_LOST)
        if finish.fail_job_now(record.id, WORKER_LOST, claimant=f"housekeeping:{record.id}", store=store):
            ended.append(record.id)
    return ended


def last_progress(record: JobRecord) -> datetime:
    """Return the time of the job's latest change: its last step, its start or its creation."""
    times = [record.created, *(step.at for step in record.steps)]
    if record.started is not None:
        times.append(record.started)
    if record.finished is not None:
        times.append(record.finished)
    return max(times)


def jobs_with_live_tasks(job_ids: list[str]) -> set[str]:
    """Return those of ``job_ids`` with a task running or reserved on a worker that responds within 2 s."""
    inspect = app.control.inspect(timeout=INSPECT_TIMEOUT_SECONDS)
    # Workers report arguments as a list or as their printed form, depending
    # on the Celery version. Every task has the job id among its arguments.
    printed = []
    for reply in (inspect.active() or {}, inspect.reserved() or {}):
        for worker_tasks in reply.values():
            printed.extend(str(task.get("args")) for task in worker_tasks)
    text = "\n".join(printed)
    return {job_id for job_id in job_ids if job_id in text}
