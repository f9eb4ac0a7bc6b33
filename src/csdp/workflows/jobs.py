"""Job records in Redis: one JSON ``wire.JobRecord`` per job and an index per owner.

Keys (every one expires after ``job_ttl_seconds``):

- ``csdp:job:<id>``: the record as JSON;
- ``csdp:jobs:<owner>``: sorted set of the owner's job ids, scored by creation time;
- ``csdp:job:<id>:final``: written once with SET NX by the caller that ends the job;
- ``csdp:job:<id>:context``: what ending the job needs but the user does not
  see: the e-mail address and the staged upload files.

Many worker threads update one record at once (one chain per replica), so each
change is a read-modify-write under WATCH that is retried when another writer
got in between.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

import redis

from csdp.errors import NotFound
from csdp.settings import get_settings
from csdp.wire import TERMINAL_STATES, ErrorBody, JobRecord, StepProgress

log = logging.getLogger(__name__)

JOB_KEY = "csdp:job:{job_id}"
OWNER_JOBS_KEY = "csdp:jobs:{owner}"
FINAL_KEY = "csdp:job:{job_id}:final"
CONTEXT_KEY = "csdp:job:{job_id}:context"
PUBLISHED_SUFFIX = ":published"
MAX_WATCH_ATTEMPTS = 50
# Job ids are uuid4().hex; anything else, such as "<id>:context", would read another key.
JOB_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
MIN_JOB_PREFIX_LENGTH = 8
# How many of an owner's most recent jobs a prefix is matched against.
PREFIX_SEARCH_LIMIT = 1000


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def is_job_id(value: str) -> bool:
    """Return whether ``value`` has the form of a job id: 32 lowercase hex digits."""
    return isinstance(value, str) and JOB_ID_PATTERN.fullmatch(value) is not None


def new_job_id() -> str:
    """Return a fresh job id: 32 hex digits, so the 12 in container names stay unique."""
    return uuid.uuid4().hex


@lru_cache(maxsize=1)
def _default_client() -> redis.Redis:
    return redis.Redis.from_url(get_settings().redis_url, decode_responses=True)


class JobStore:
    """Create, update and read job records; every write refreshes the key TTLs."""

    def __init__(self, client: redis.Redis | None = None, ttl_seconds: int | None = None) -> None:
        self.client = client if client is not None else _default_client()
        self.ttl_seconds = ttl_seconds if ttl_seconds is not None else get_settings().job_ttl_seconds

    # Reading.

    def get(self, job_id: str) -> JobRecord | None:
        """Return the record of ``job_id``, or None when it does not exist, expired or is not a job id."""
        if not is_job_id(job_id):
            return None
        raw = self.client.get(JOB_KEY.format(job_id=job_id))
        return JobRecord.model_validate_json(raw) if raw is not None else None

    def context(self, job_id: str) -> dict[str, Any]:
        """Return the job context ``{"email", "staged"}``; empty values when it is missing."""
        raw = self.client.get(CONTEXT_KEY.format(job_id=job_id))
        return json.loads(raw) if raw is not None else {"email": None, "staged": []}

    def require(self, job_id: str) -> JobRecord:
        """Return the record of ``job_id`` or raise NotFound."""
        record = self.get(job_id)
        if record is None:
            raise NotFound(f"job {job_id!r} does not exist or has expired; list your jobs with GET /jobs", field="job_id")
        return record

    def list_for_owner(self, owner: str, limit: int = 50) -> list[JobRecord]:
        """Return up to ``limit`` records of ``owner``, most recent first; expired ones are skipped."""
        job_ids = self.client.zrevrange(OWNER_JOBS_KEY.format(owner=owner), 0, max(limit, 1) - 1)
        if not job_ids:
            return []
        raws = self.client.mget([JOB_KEY.format(job_id=job_id) for job_id in job_ids])
        return [JobRecord.model_validate_json(raw) for raw in raws if raw is not None]

    def find_by_prefix(self, owner: str, prefix: str) -> JobRecord:
        """Return the one recent job of ``owner`` whose id starts with ``prefix``.

        Raises NotFound when the prefix is shorter than MIN_JOB_PREFIX_LENGTH,
        matches none of the owner's last PREFIX_SEARCH_LIMIT jobs, or matches
        more than one of them.
        """
        if len(prefix) < MIN_JOB_PREFIX_LENGTH or not re.fullmatch(r"[0-9a-f]+", prefix):
            raise NotFound(
                f"job {prefix[:40]!r} not found: give the full job id or at least {MIN_JOB_PREFIX_LENGTH} of its "
                "first hex digits; list your jobs with GET /api/v1/jobs",
                field="job_id",
            )
        job_ids = self.client.zrevrange(OWNER_JOBS_KEY.format(owner=owner), 0, PREFIX_SEARCH_LIMIT - 1)
        matches = [job_id for job_id in job_ids if job_id.startswith(prefix)]
        if len(matches) > 1:
            raise NotFound(
                f"job id prefix {prefix!r} matches {len(matches)} of your jobs; give more digits or the full id",
                field="job_id",
                matches=len(matches),
            )
        record = self.get(matches[0]) if matches else None
        if record is None:
            raise NotFound(f"job {prefix!r} not found or expired; list your jobs with GET /api/v1/jobs", field="job_id")
        return record

    def list_in_states(self, states: tuple[str, ...]) -> list[JobRecord]:
        """Return every record whose state is one of ``states``; housekeeping uses it to find lost jobs."""
        records = []
        for key in self.client.scan_iter(match=JOB_KEY.format(job_id="*"), count=500):
            if key.endswith((":final", ":context")):
                continue
            raw = self.client.get(key)
            if raw is None:
                continue
            record = JobRecord.model_validate_json(raw)
            if record.state in states:
                records.append(record)
        return records

    # Writing.

    def create(
        self,
        owner: str,
        service: str | None,
        action: str,
        parameters: dict[str, Any] | None = None,
        *,
        email: str | None = None,
        staged: list[str] | None = None,
    ) -> JobRecord:
        """Write a new record in state queued and add it to the owner's index.

        ``parameters`` must already have secret values masked: the record is
        shown to the user and sent in notifications. ``email`` and ``staged``
        go to the job context, which the caller that ends the job reads.
        """
        record = JobRecord(
            id=new_job_id(),
            owner=owner,
            service=service,
            action=action,
            parameters=dict(parameters or {}),
            state="queued",
            created=utcnow(),
        )
        index_key = OWNER_JOBS_KEY.format(owner=owner)
        with self.client.pipeline() as pipe:
            pipe.set(JOB_KEY.format(job_id=record.id), record.model_dump_json(), ex=self.ttl_seconds)
            context = json.dumps({"email": email, "staged": list(staged or [])})
            pipe.set(CONTEXT_KEY.format(job_id=record.id), context, ex=self.ttl_seconds)
            pipe.zadd(index_key, {record.id: record.created.timestamp()})
            pipe.expire(index_key, self.ttl_seconds)
            pipe.execute()
        return record

    def mark_running(self, job_id: str) -> JobRecord | None:
        """Move a queued job to running; a running or ended job is left as it is."""

        def change(record: JobRecord) -> JobRecord | None:
            if record.state != "queued":
                return None
            return record.model_copy(update={"state": "running", "started": utcnow()})

        return self._update(job_id, change)

    def record_step(self, job_id: str, step: str, replica: int | None, state: str) -> JobRecord | None:
        """Set the state of ``step`` for ``replica``, adding the entry on first use.

        A step that runs again replaces its entry instead of adding one, and an
        ended job is not changed. A queued job becomes running.
        """

        def change(record: JobRecord) -> JobRecord | None:
            if record.state in TERMINAL_STATES:
                return None
            now = utcnow()
            entry = StepProgress(step=step, replica=replica, state=state, at=now)
            steps = [item for item in record.steps if (item.step, item.replica) != (step, replica)]
            steps.append(entry)
            update: dict[str, Any] = {"steps": steps}
            if record.state == "queued":
                update.update(state="running", started=now)
            return record.model_copy(update=update)

        return self._update(job_id, change)

    def succeed(self, job_id: str, result: dict[str, Any]) -> JobRecord | None:
        """Mark the job succeeded with ``result``; an ended job is not changed."""

        def change(record: JobRecord) -> JobRecord | None:
            if record.state in TERMINAL_STATES:
                return None
            return record.model_copy(update={"state": "succeeded", "result": result, "finished": utcnow()})

        return self._update(job_id, change)

    def fail(self, job_id: str, reason: str, *, step: str | None = None, replica: int | None = None, code: str = "step_failed") -> JobRecord | None:
        """Mark the job failed with an error naming ``step``, ``replica`` and ``reason``.

        The failing step's progress entry is set to failed. An ended job is not changed.
        """

        def change(record: JobRecord) -> JobRecord | None:
            if record.state in TERMINAL_STATES:
                return None
            now = utcnow()
            where = f"step {step}" if step else "the job"
            if replica is not None:
                where += f" of replica {replica}"
            details: dict[str, Any] = {"reason": reason}
            if step is not None:
                details["step"] = step
            if replica is not None:
                details["replica"] = replica
            steps = list(record.steps)
            if step is not None:
                steps = [item for item in steps if (item.step, item.replica) != (step, replica)]
                steps.append(StepProgress(step=step, replica=replica, state="failed", at=now))
            error = ErrorBody(code=code, message=f"{where} failed: {reason}", details=details)
            return record.model_copy(update={"state": "failed", "error": error, "steps": steps, "finished": now})

        return self._update(job_id, change)

    # The one notification.

    def finish_once(self, job_id: str, claimant: str | None = None) -> bool:
        """Return True for exactly one caller per job: the one that publishes the final notification.

        ``claimant`` (such as a Celery task id) makes the claim re-entrant: a
        redelivered copy of the winning task wins again, unless it already
        published (see ``mark_published``).
        """
        key = FINAL_KEY.format(job_id=job_id)
        claimant = claimant or uuid.uuid4().hex
        if self.client.set(key, claimant, nx=True, ex=self.ttl_seconds):
            return True
        return self.client.get(key) == claimant

    def mark_published(self, job_id: str) -> None:
        """Record that the final notification went out, so a redelivered winner does not send it again."""
        key = FINAL_KEY.format(job_id=job_id)
        value = self.client.get(key) or ""
        if not value.endswith(PUBLISHED_SUFFIX):
            self.client.set(key, value + PUBLISHED_SUFFIX, ex=self.ttl_seconds)

    def is_finished(self, job_id: str) -> bool:
        """Return True once some caller has claimed the end of the job."""
        return bool(self.client.exists(FINAL_KEY.format(job_id=job_id)))

    def _update(self, job_id: str, change: Callable[[JobRecord], JobRecord | None]) -> JobRecord | None:
        """Apply ``change`` atomically; return the new record, or None when ``change`` left it alone.

        Raises NotFound when the record does not exist.
        """
        key = JOB_KEY.format(job_id=job_id)
        for _ in range(MAX_WATCH_ATTEMPTS):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        raise NotFound(f"job {job_id!r} does not exist or has expired", field="job_id")
                    updated = change(JobRecord.model_validate_json(raw))
                    if updated is None:
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.set(key, updated.model_dump_json(), ex=self.ttl_seconds)
                    pipe.expire(OWNER_JOBS_KEY.format(owner=updated.owner), self.ttl_seconds)
                    pipe.execute()
                    return updated
                except redis.WatchError:
                    continue
        raise redis.WatchError(f"job {job_id}: record changed {MAX_WATCH_ATTEMPTS} times during one update")
