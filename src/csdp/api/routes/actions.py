"""Service-specific actions, run in each target container as a job."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from csdp.api.convert import job_accepted
from csdp.api.deps import CurrentUser, RuntimeDep, SettingsDep, get_submit, owned_container
from csdp.api.result_email import check_result_email
from csdp.wire import ActionRequest, JobAccepted

router = APIRouter(tags=["services"])


@router.post("/services/{service}/actions/{action}", status_code=202)
async def run_action(
    service: str,
    action: str,
    body: ActionRequest,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    submit: Annotated[ModuleType, Depends(get_submit)],
    settings: SettingsDep,
) -> JobAccepted:
    """Run the action in one container, or in all of the caller's containers of the service."""
    check_result_email(body.email, settings)
    owner, targets = user.name, None
    if body.container is not None:
        info = await run_in_threadpool(owned_container, runtime, user, body.container)
        owner, targets = info.owner, [info]
    record = await run_in_threadpool(submit.submit_action, owner, service, action, targets, body.parameters, body.email)
    return job_accepted(request, record)
