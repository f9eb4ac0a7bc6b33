"""Schedules: a service action run later, once at a time or on a cron expression, with the result by e-mail.

Schedules live in Redis, never in the broker: a task held with a far ETA
keeps its message unacknowledged, and RabbitMQ closes the channel of a
consumer that keeps one unacknowledged past its consumer timeout (30 minutes
by default), so long ETAs break workers. Beat instead sends ``dispatch_due`` every
``CSDP_SCHEDULE_INTERVAL_SECONDS``, and that task starts every due schedule as
an ordinary action job on the owner's containers of the service.

Keys, where ``<p>`` is ``CSDP_QUEUE_PREFIX`` so deployments that share a Redis
keep their schedules apart:

- ``csdp:<p>schedule:<id>``: the schedule as JSON, with its parameters unmasked;
- ``csdp:<p>schedules:due``: sorted set of schedule ids, scored by the next run in Unix seconds;
- ``csdp:<p>schedules:owner:<owner>``: set of the owner's schedule ids, which the per-user limit counts.

A due schedule is claimed by removing it from the due set in a WATCH
transaction that first checks its score is due, so exactly one of several
beats or workers runs each slot.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import redis

from csdp.catalog import check_parameters
from csdp.errors import CsdpError, InvalidInput, LimitExceeded, NotFound
from csdp.settings import get_settings
from csdp.workflows.app import app
from csdp.workflows.cron import CRON_FORM, parse_cron
from csdp.workflows.specs import get_catalog, mask_secrets

log = logging.getLogger(__name__)

AT_FORM = "a future time in ISO 8601 with a timezone, such as 2026-12-05T09:00:00+01:00"
# Schedules further ahead than this are rejected, because a mistyped year would otherwise wait silently.
MAX_AHEAD = timedelta(days=366)
# Due schedules one dispatch claims; the rest wait for the next period.
DISPATCH_BATCH = 100
MAX_WATCH_ATTEMPTS = 50


@lru_cache(maxsize=1)
def _default_client() -> redis.Redis:
    return redis.Redis.from_url(get_settings().redis_url, decode_responses=True)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_at(value: Any, now: datetime | None = None) -> datetime:
    """Return ``value`` as an aware UTC time in the future, or raise InvalidInput naming the field ``at``."""
    now = now or utcnow()
    if not isinstance(value, str):
        raise InvalidInput(f"at must be {AT_FORM}, got {value!r}", field="at")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"at is {value!r}, which is not ISO 8601; give {AT_FORM}", field="at") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"at is {value!r} without a timezone; give {AT_FORM}", field="at")
    moment = moment.astimezone(timezone.utc)
    if moment <= now:
        raise InvalidInput(f"at is {value!r}, which is in the past; give {AT_FORM}", field="at")
    if moment > now + MAX_AHEAD:
        raise InvalidInput(f"at is {value!r}, more than {MAX_AHEAD.days} days ahead; give {AT_FORM} within that", field="at")
    return moment


class ScheduleStore:
    """Create, list, cancel and claim schedules in Redis."""

    def __init__(self, client: redis.Redis | None = None, prefix: str | None = None) -> None:
        self.client = client if client is not None else _default_client()
        prefix = get_settings().queue_prefix if prefix is None else prefix
        self.record_key = f"csdp:{prefix}schedule:{{id}}"
        self.due_key = f"csdp:{prefix}schedules:due"
        self.owner_key = f"csdp:{prefix}schedules:owner:{{owner}}"

    def get(self, schedule_id: str) -> dict[str, Any] | None:
        raw = self.client.get(self.record_key.format(id=schedule_id))
        return json.loads(raw) if raw is not None else None

    def count(self, owner: str) -> int:
        return self.client.scard(self.owner_key.format(owner=owner))

    def list_for_owner(self, owner: str) -> list[dict[str, Any]]:
        """Return the owner's schedules, the next to run first."""
        ids = sorted(self.client.smembers(self.owner_key.format(owner=owner)))
        if not ids:
            return []
        raws = self.client.mget([self.record_key.format(id=schedule_id) for schedule_id in ids])
        records = [json.loads(raw) for raw in raws if raw is not None]
        return sorted(records, key=lambda record: record["next_run"])

    def add(self, record: dict[str, Any], limit: int) -> None:
        """Store a new schedule unless its owner already has ``limit``; raise LimitExceeded then."""
        owner_key = self.owner_key.format(owner=record["owner"])
        for _ in range(MAX_WATCH_ATTEMPTS):
            with self.client.pipeline() as pipe:
                try:
                    # The count and the write are one transaction, so parallel requests cannot pass the limit.
                    pipe.watch(owner_key)
                    current = pipe.scard(owner_key)
                    if current >= limit:
                        raise LimitExceeded(
                            f"{record['owner']!r} has {current} schedules, the limit of {limit}; "
                            "cancel some with 'csdp schedules cancel ID' first",
                            limit=limit,
                            current=current,
                        )
                    pipe.multi()
                    pipe.set(self.record_key.format(id=record["id"]), json.dumps(record))
                    pipe.zadd(self.due_key, {record["id"]: _timestamp(record["next_run"])})
                    pipe.sadd(owner_key, record["id"])
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue
        raise redis.WatchError(f"the schedules of {record['owner']} changed {MAX_WATCH_ATTEMPTS} times during one add")

    def remove(self, record: dict[str, Any]) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(self.record_key.format(id=record["id"]))
            pipe.zrem(self.due_key, record["id"])
            pipe.srem(self.owner_key.format(owner=record["owner"]), record["id"])
            pipe.execute()

    def due_ids(self, now: datetime, limit: int = DISPATCH_BATCH) -> list[str]:
        return self.client.zrangebyscore(self.due_key, "-inf", now.timestamp(), start=0, num=limit)

    def claim(self, schedule_id: str, now: datetime) -> float | None:
        """Remove the schedule from the due set if it is due and return its slot; None when another caller has it."""
        for _ in range(MAX_WATCH_ATTEMPTS):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(self.due_key)
                    slot = pipe.zscore(self.due_key, schedule_id)
                    # Gone, or already put back for its next run by the caller that claimed it.
                    if slot is None or slot > now.timestamp():
                        pipe.unwatch()
                        return None
                    pipe.multi()
                    pipe.zrem(self.due_key, schedule_id)
                    removed = pipe.execute()[0]
                    return slot if removed else None
                except redis.WatchError:
                    continue
        return None

    def reschedule(self, record: dict[str, Any]) -> bool:
        """Write the record with its new next run and put it back in the due set, unless it was cancelled meanwhile."""
        key = self.record_key.format(id=record["id"])
        for _ in range(MAX_WATCH_ATTEMPTS):
            with self.client.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    if not pipe.exists(key):
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.set(key, json.dumps(record))
                    pipe.zadd(self.due_key, {record["id"]: _timestamp(record["next_run"])})
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue
        return False


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def schedule_out(record: dict[str, Any]) -> dict[str, Any]:
    """Return the record as the user sees it: secret parameters masked, the e-mail address kept."""
    public = dict(record)
    public["parameters"] = record.get("masked_parameters", {})
    public.pop("masked_parameters", None)
    return public


def submit_schedule(
    owner: str,
    service: str,
    action: str,
    parameters: dict[str, Any] | None,
    *,
    at: Any = None,
    cron: Any = None,
    email: Any = None,
    limit: int | None = None,
    store: ScheduleStore | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Check and store a schedule of ``action`` of ``service`` for ``owner``; return it as ``schedule_out`` shows it.

    Raises NotFound for an unknown service or action, InvalidInput naming
    ``at``, ``cron``, ``email`` or a parameter, and LimitExceeded past the
    owner's schedule limit (``CSDP_MAX_SCHEDULES_PER_USER`` by default).
    """
    from csdp.workflows.submit import check_email

    now = now or utcnow()
    manifest = get_catalog().get(service).manifest
    declared = manifest.action(action)
    if declared is None:
        known = ", ".join(item.name for item in manifest.actions) or "none"
        raise NotFound(f"service {service!r} has no action {action!r}; its actions: {known}", field="action")
    values = check_parameters(declared.parameters, parameters)
    email = check_email(email)

    times_given = [name for name, value in (("at", at), ("cron", cron)) if value not in (None, "")]
    if len(times_given) != 1:
        raise InvalidInput(
            f"give exactly one of at ({AT_FORM}) or cron ({CRON_FORM}); got {' and '.join(times_given) or 'neither'}",
            field="at",
        )
    if at not in (None, ""):
        next_run = parse_at(at, now)
        cron = None
    else:
        cron = parse_cron(cron).expression
        next_run = parse_cron(cron).next_after(now)

    record = {
        "id": uuid.uuid4().hex,
        "owner": owner,
        "service": service,
        "action": action,
        "parameters": values,
        "masked_parameters": mask_secrets(declared.parameters, values),
        "at": next_run.isoformat() if cron is None else None,
        "cron": cron,
        "email": email,
        "created": now.isoformat(),
        "next_run": next_run.isoformat(),
        "last_job_id": None,
    }
    store = store or ScheduleStore()
    store.add(record, limit if limit is not None else get_settings().max_schedules_per_user)
    log.info("schedule %s: %s of %s for %s, next run %s", record["id"], action, service, owner, record["next_run"])
    return schedule_out(record)


def cancel_schedule(owner: str | None, schedule_id: str, *, store: ScheduleStore | None = None) -> None:
    """Delete a schedule of ``owner`` (any owner's when None, for admins); another owner's is NotFound like a missing one."""
    store = store or ScheduleStore()
    record = store.get(schedule_id)
    if record is None or (owner is not None and record["owner"] != owner):
        raise NotFound(f"schedule {schedule_id!r} not found; list your schedules with GET /api/v1/schedules", field="schedule_id")
    store.remove(record)
    log.info("schedule %s of %s cancelled", schedule_id, record["owner"])


@app.task(name="csdp.workflows.schedules.dispatch_due")
def dispatch_due() -> list[str]:
    """Start every due schedule once and return the ids of the jobs it queued.

    Safe to run on several beats or workers at once: each slot is claimed by
    exactly one caller.
    """
    return dispatch(ScheduleStore())


def dispatch(store: ScheduleStore, now: datetime | None = None) -> list[str]:
    """Claim and start the due schedules of ``store``; return the job ids."""
    now = now or utcnow()
    jobs = []
    for schedule_id in store.due_ids(now):
        slot = store.claim(schedule_id, now)
        if slot is None:
            continue
        record = store.get(schedule_id)
        if record is None:
            log.info("schedule %s: cancelled before it ran", schedule_id)
            continue
        # NOTE: a worker that dies between the claim and the submission loses
        # this run; the slot is not claimed again.
        job_id = run_schedule(record, slot)
        jobs.append(job_id)
        record["last_job_id"] = job_id
        if record["cron"]:
            record["next_run"] = parse_cron(record["cron"]).next_after(max(now, datetime.fromtimestamp(slot, timezone.utc))).isoformat()
            if store.reschedule(record):
                log.info("schedule %s: next run %s", schedule_id, record["next_run"])
        else:
            store.remove(record)
    return jobs


def run_schedule(record: dict[str, Any], slot: float) -> str:
    """Queue the scheduled action as a job and return its id; a job that cannot start is recorded as failed and notified."""
    from csdp.workflows import finish, submit
    from csdp.workflows.jobs import JobStore

    late = utcnow().timestamp() - slot
    try:
        job = submit.submit_action(record["owner"], record["service"], record["action"], None, record["parameters"], record["email"])
    except CsdpError as exc:
        store = JobStore()
        job = store.create(record["owner"], record["service"], record["action"], record["masked_parameters"], email=record["email"])
        log.info("schedule %s: job %s cannot start: %s", record["id"], job.id, exc.message)
        finish.fail_job_now(job.id, f"the scheduled run could not start: {exc.message}", claimant=f"schedule:{job.id}", store=store)
        return job.id
    log.info("schedule %s: queued job %s, %.1f s after its time", record["id"], job.id, late)
    return job.id
