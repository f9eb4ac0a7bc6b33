"""Ending a job: the final state, the cleanup after a failure and the one notification."""

from __future__ import annotations

import logging
from typing import Any

from csdp.runtime import get_runtime
from csdp.workflows import notify
from csdp.wire import JobRecord
from csdp.workflows.jobs import JobStore
from csdp.workflows.reservations import Reservations
from csdp.workflows.steps import describe

log = logging.getLogger(__name__)


def succeed_job(job_id: str, result: dict[str, Any], *, claimant: str, store: JobStore | None = None) -> bool:
    """Mark the job succeeded and notify, if this caller wins the end of the job; return whether it won."""
    store = store or JobStore()
    if not store.finish_once(job_id, claimant):
        log.info("%s: already ended by another caller, success not recorded", describe(job_id))
        return False
    store.succeed(job_id, result)
    release_reservation(job_id, store)
    log.info("%s: succeeded", describe(job_id))
    publish_once(job_id, store.context(job_id)["email"], store)
    return True


def fail_job_now(
    job_id: str,
    reason: str,
    *,
    claimant: str,
    step: str | None = None,
    replica: int | None = None,
    store: JobStore | None = None,
) -> bool:
    """Fail the job, remove what it created, and notify; return whether this caller won the end of the job.

    A start job's containers (all labelled with the job) are removed; other
    jobs act on containers of earlier jobs and remove none. Staged files and
    the e-mail address come from the job context. The job is marked failed
    before its containers are listed, so a step that creates a container
    afterwards reads the failed state and removes that container itself. A step that
    already failed the job keeps its step and reason.
    """
    from csdp.workflows.tasks import remove_staged

    store = store or JobStore()
    if not store.finish_once(job_id, claimant):
        log.info("%s: already ended by another caller, failure not recorded", describe(job_id))
        return False
    store.fail(job_id, reason, step=step, replica=replica)
    record = store.get(job_id)
    context = store.context(job_id)
    release_reservation(job_id, store, record)

    if record is not None and record.action == "start":
        remove_job_containers(job_id)
    if context["staged"]:
        remove_staged(context["staged"], job_id)

    log.info("%s: failed: %s", describe(job_id), record.error.message if record and record.error else reason)
    publish_once(job_id, context["email"], store)
    return True


def release_reservation(job_id: str, store: JobStore, record: JobRecord | None = None) -> None:
    """Give back the containers a start job reserved under the owner's limit; its containers now count themselves."""
    record = record or store.get(job_id)
    if record is not None and record.action == "start":
        Reservations(store).release(record.owner, job_id)


def remove_job_containers(job_id: str) -> list[str]:
    """Force-remove every container labelled with the job and return their ids."""
    runtime = get_runtime()
    removed = []
    for info in runtime.list(job_id=job_id):
        runtime.remove(info.id)
        removed.append(info.id)
        log.info("%s: removed the container of the failed job", describe(job_id, info.id, info.replica))
    return removed


def publish_once(job_id: str, email: str | None, store: JobStore) -> None:
    """Publish the final record, mark it published and send the e-mail.

    Only the winner of ``finish_once`` calls this, and once the record is marked
    published a redelivered winner no longer wins.
    """
    record = store.get(job_id)
    if record is None:
        log.warning("%s: record expired before its notification", describe(job_id))
        return
    notify.publish_result(record)
    store.mark_published(job_id)
    if email:
        notify.email_result(record, email)
