"""Ending a job whose task broke outside a step: a result that could not be published or stored.

A step turns its own errors into a failed job (``csdp.workflows.steps``). But
Celery publishes a task's result to the next task and stores it after the task
body returned, and a finish task can break after it claimed the end of the
job. Without this handler such a job would stay running forever.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from celery.signals import task_failure

from csdp.errors import CsdpError, StepFailed
from csdp.workflows import finish, notify
from csdp.workflows.jobs import TERMINAL_STATES, JobStore
from csdp.workflows.steps import describe

log = logging.getLogger(__name__)

TASK_PREFIX = "csdp.workflows.tasks."


@task_failure.connect
def on_task_failure(sender: Any = None, task_id: str | None = None, exception: BaseException | None = None,
                    args: Any = None, kwargs: Any = None, **_: Any) -> None:
    """Fail the task's job with the exception as reason, unless a step already ended it."""
    name = getattr(sender, "name", "") or ""
    if not name.startswith(TASK_PREFIX) or isinstance(exception, StepFailed):
        return
    job_id = job_of(sender, args or (), kwargs or {})
    if job_id is None:
        return
    step = name[len(TASK_PREFIX):]
    reason = f"{type(exception).__name__}: {exception}" if exception is not None else "unknown error"
    try:
        end_job_after_error(job_id, step, reason)
    except Exception:
        # The store itself may be what broke; housekeeping fails the job later as stuck.
        log.exception("%s: cannot record the failure of task %s %s", describe(job_id), name, task_id)


def job_of(task: Any, args: Any, kwargs: dict[str, Any]) -> str | None:
    """Return the ``job_id`` argument of a call of ``task``, or None if it has none."""
    try:
        bound = inspect.signature(task.run).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return None
    value = bound.arguments.get("job_id")
    return value if isinstance(value, str) else None


def end_job_after_error(job_id: str, step: str, reason: str, store: JobStore | None = None) -> None:
    """Fail the job at ``step``; also when the caller that claimed its end broke before recording it."""
    store = store or JobStore()
    log.error("%s: task %s broke outside its step: %s", describe(job_id), step, reason)
    if finish.fail_job_now(job_id, reason, claimant=f"fail:{job_id}", step=step, store=store):
        return
    record = store.get(job_id)
    if record is None or record.state in TERMINAL_STATES:
        return
    try:
        failed = store.fail(job_id, reason, step=step)
    except CsdpError as exc:
        log.warning("%s: cannot mark the job failed: %s", describe(job_id), exc.message)
        return
    if failed is not None:
        notify.publish_result(failed)
        store.mark_published(job_id)
