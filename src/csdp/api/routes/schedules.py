"""Schedules: run a service action later, at a time or on a cron expression, with the result by e-mail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from csdp.api.deps import CurrentUser, owner_filter
from csdp.wire import WireModel

router = APIRouter(tags=["schedules"])


class ScheduleRequest(WireModel):
    """Run ``action`` of ``service`` once at ``at`` or on every match of ``cron``; give exactly one of the two."""

    service: str = Field(description="Service whose action runs, such as test_client.")
    action: str = Field(description="Action of the service, such as run.")
    parameters: dict[str, Any] = Field(default_factory=dict, description="Action parameters by name.")
    at: str | None = Field(None, description="ISO 8601 time with a timezone, such as 2026-12-05T09:00:00+01:00.")
    cron: str | None = Field(None, description="Cron expression in UTC: minute hour day-of-month month day-of-week.")
    email: str | None = Field(None, description="Address that receives the result of each run.")


class ScheduleOut(WireModel):
    id: str
    owner: str
    service: str
    action: str
    parameters: dict[str, Any]
    at: datetime | None
    cron: str | None
    email: str | None
    created: datetime
    next_run: datetime
    last_job_id: str | None


@router.post("/schedules", status_code=201)
async def create_schedule(body: ScheduleRequest, user: CurrentUser) -> ScheduleOut:
    """Schedule an action on the caller's containers of the service that exist when it runs; 429 past the limit."""
    from csdp.workflows.schedules import submit_schedule

    record = await run_in_threadpool(
        submit_schedule, user.name, body.service, body.action, body.parameters, at=body.at, cron=body.cron, email=body.email
    )
    return ScheduleOut.model_validate(record)


@router.get("/schedules")
def list_schedules(
    user: CurrentUser,
    owner: Annotated[str | None, Query(description="Admins only: the schedules of this user.")] = None,
) -> list[ScheduleOut]:
    """List the caller's schedules, the next to run first."""
    from csdp.workflows.schedules import ScheduleStore, schedule_out

    records = ScheduleStore().list_for_owner(owner_filter(user, owner, False))
    return [ScheduleOut.model_validate(schedule_out(record)) for record in records]


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: str, user: CurrentUser) -> Response:
    """Cancel a schedule; a run that has already started goes on."""
    from csdp.workflows.schedules import cancel_schedule

    cancel_schedule(None if user.admin else user.name, schedule_id)
    return Response(status_code=204)
