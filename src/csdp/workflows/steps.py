"""The frame every workflow step runs in: job checks, progress, retries and failures.

A step is one runtime verb for one job and one replica or container. The frame

- skips the step when the job has already ended, and removes the step's own
  container when the job failed, so a replica that is still running after
  another one failed leaves nothing behind;
- records the step as running, then succeeded, in the job record;
- retries ``EngineUnavailable`` with backoff, a few times;
- turns every other error into a failed job naming the step, the replica and
  the reason, and raises ``StepFailed``, which is not retried.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar

from celery.exceptions import Ignore

from csdp.errors import CsdpError, EngineUnavailable, RuntimeFailure, StepFailed
from csdp.runtime import get_runtime
from csdp.runtime.names import short_id
from csdp.settings import get_settings
from csdp.workflows.jobs import JobStore

log = logging.getLogger(__name__)

T = TypeVar("T")

ENGINE_RETRIES = 3
# Seconds before retry 1, 2 and 3 of a step that found the engine unavailable.
RETRY_BACKOFF = (1, 3, 9)


def describe(job_id: str, container_id: str | None = None, replica: int | None = None) -> str:
    """Return the log prefix of a step: the job id, then the replica and short container id when known."""
    text = f"job {job_id}"
    if replica is not None:
        text += f" replica {replica}"
    if container_id:
        text += f" container {short_id(container_id)}"
    return text


def _inject_fault(step: str, replica: int | None) -> None:
    # CSDP_FAIL_STEP exists for failure tests only; it is unset in deployments.
    target = get_settings().fail_step
    if target and replica is not None and target == f"{step}:{replica}":
        raise RuntimeFailure(f"fault injected by CSDP_FAIL_STEP={target}", step=step, replica=replica)


def stop_if_ended(store: JobStore, job_id: str, step: str, *, container_id: str | None, replica: int | None, owns_container: bool) -> None:
    """Raise Ignore when the job has ended; first remove our own container if the job failed."""
    record = store.get(job_id)
    if record is None:
        log.warning("%s: step %s skipped because the job record is gone", describe(job_id, container_id, replica), step)
        raise Ignore()
    if record.state == "failed":
        if owns_container and container_id:
            get_runtime().remove(container_id)
            log.info("%s: removed the container because the job failed", describe(job_id, container_id, replica))
        log.info("%s: step %s skipped because the job failed", describe(job_id, container_id, replica), step)
        raise Ignore()
    if record.state == "succeeded":
        log.info("%s: step %s skipped because the job already succeeded", describe(job_id, container_id, replica), step)
        raise Ignore()


def run_step(
    task: Any,
    job_id: str,
    step: str,
    action: Callable[[], T],
    *,
    replica: int | None = None,
    container_id: str | None = None,
    owns_container: bool = False,
    store: JobStore | None = None,
) -> T:
    """Run ``action`` as step ``step`` of ``job_id`` and return its value.

    ``task`` is the bound Celery task, used for retries. ``owns_container``
    means the container was created by this job, so it is removed when the job
    has failed. Raises Ignore when the job has ended, Retry while the engine is
    unavailable, and StepFailed otherwise.
    """
    store = store or JobStore()
    where = describe(job_id, container_id, replica)
    stop_if_ended(store, job_id, step, container_id=container_id, replica=replica, owns_container=owns_container)
    store.record_step(job_id, step, replica, "running")
    log.info("%s: step %s started", where, step)

    try:
        _inject_fault(step, replica)
        value = action()
    except EngineUnavailable as exc:
        attempt = task.request.retries
        if attempt < ENGINE_RETRIES:
            countdown = RETRY_BACKOFF[attempt]
            log.warning("%s: step %s will retry in %s s (retry %d of %d): %s", where, step, countdown, attempt + 1, ENGINE_RETRIES, exc.message)
            raise task.retry(exc=exc, countdown=countdown, max_retries=ENGINE_RETRIES)
        reason = f"container engine unavailable after {ENGINE_RETRIES} retries: {exc.message}"
        log.error("%s: step %s failed: %s", where, step, reason)
        fail_step(store, job_id, step, replica, reason)
    except CsdpError as exc:
        log.info("%s: step %s failed: %s", where, step, exc.message)
        fail_step(store, job_id, step, replica, exc.message)
    except Exception as exc:
        log.exception("%s: step %s failed unexpectedly", where, step)
        fail_step(store, job_id, step, replica, f"{type(exc).__name__}: {exc}")

    # Another replica may have failed the job while this step ran; our
    # container then appeared after fail_job listed the job's containers.
    result_container = value if isinstance(value, str) else container_id
    stop_if_ended(store, job_id, step, container_id=result_container, replica=replica, owns_container=owns_container)
    store.record_step(job_id, step, replica, "succeeded")
    log.info("%s: step %s succeeded", describe(job_id, result_container, replica), step)
    return value


def fail_step(store: JobStore, job_id: str, step: str, replica: int | None, reason: str) -> None:
    """End the job as failed at ``step`` and raise StepFailed, which is never retried.

    The failing task ends the job itself instead of waiting for the chord's
    error callback. With the Redis result backend (Celery 5.7) that callback
    runs only after every header chain has reported. Chains of other replicas
    stop without reporting once the job has failed, so it would never run.
    """
    from csdp.workflows import finish

    finish.fail_job_now(job_id, reason, step=step, replica=replica, claimant=f"fail:{job_id}", store=store)
    raise StepFailed(f"step {step} failed: {reason}", step=step, replica=replica)
