"""Job records and their change events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from csdp.api.deps import CurrentUser, get_job_store, owner_filter
from csdp.api.streams import EVENT_STREAM, job_event_stream
from csdp.errors import NotFound
from csdp.wire import JobRecord
from csdp.workflows.jobs import JobStore, is_job_id
from csdp.workflows.users import User

router = APIRouter(tags=["jobs"])

JobStoreDep = Annotated[JobStore, Depends(get_job_store)]


def owned_job(store: JobStore, user: User, job_id: str) -> JobRecord:
    """Return the job if the caller may see it; another user's job is NotFound like a missing one.

    ``job_id`` is a full id or a unique prefix of one of the caller's own
    recent jobs, such as the 12 digits ``csdp jobs`` prints.
    """
    if not is_job_id(job_id):
        return store.find_by_prefix(user.name, job_id)
    record = store.get(job_id)
    if record is None or (not user.admin and record.owner != user.name):
        raise NotFound(f"job {job_id!r} not found or expired; list your jobs with GET /api/v1/jobs", field="job_id")
    return record


@router.get("/jobs")
def list_jobs(
    user: CurrentUser,
    store: JobStoreDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    owner: Annotated[str | None, Query(description="Admins only: the jobs of this user.")] = None,
) -> list[JobRecord]:
    """List the caller's jobs, most recent first."""
    return store.list_for_owner(owner_filter(user, owner, False), limit)


@router.get("/jobs/{job_id}", name="get_job")
def get_job(job_id: str, user: CurrentUser, store: JobStoreDep) -> JobRecord:
    """Show a job: its state, steps, result or error."""
    return owned_job(store, user, job_id)


@router.get("/jobs/{job_id}/events", name="job_events", response_class=StreamingResponse,
            responses={200: {"content": {EVENT_STREAM: {}}, "description": "'event: job' with the record at each change."}})
async def job_events(job_id: str, user: CurrentUser, store: JobStoreDep) -> StreamingResponse:
    """Send the record each time it changes, and end after the job succeeded or failed."""
    record = await run_in_threadpool(owned_job, store, user, job_id)
    events = job_event_stream(lambda: store.get(record.id), f"job {record.id}")
    return StreamingResponse(events, media_type=EVENT_STREAM, headers={"Cache-Control": "no-cache"})
