"""User administration, for admins only."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, StrictBool
from starlette.concurrency import run_in_threadpool

from csdp.api.convert import job_accepted
from csdp.api.deps import AdminUser, RuntimeDep, get_submit
from csdp.wire import ErrorBody, JobAccepted, UserCreated, UserOut, WireModel
from csdp.workflows import users
from csdp.workflows.user_removal import remove_user_and_containers

router = APIRouter(prefix="/admin", tags=["admin"])

REMOVE_RESPONSES = {
    202: {"model": JobAccepted, "description": "The user is removed; the job deletes its containers."},
    409: {"model": ErrorBody, "description": "The caller is the only admin and tried to remove itself."},
}


class UserRequest(WireModel):
    name: str = Field(description="1 to 64 letters, digits, '.', '_', '-' or '@'.")
    # Strict, so "yes" or 1 is a 422 rather than silently making an admin.
    admin: StrictBool = False


@router.post("/users", status_code=201)
async def add_user(body: UserRequest, caller: AdminUser) -> UserCreated:
    """Create a user and return it with its token, which is shown only this once."""
    user, token = await run_in_threadpool(users.add_user, body.name, body.admin)
    return UserCreated(**user.model_dump(), token=token)


@router.get("/users")
def list_users(caller: AdminUser) -> list[UserOut]:
    """List every user."""
    return [user.to_wire() for user in users.list_users()]


@router.delete("/users/{name}", status_code=204, responses=REMOVE_RESPONSES)
async def remove_user(
    name: str, request: Request, caller: AdminUser, runtime: RuntimeDep, submit: Annotated[ModuleType, Depends(get_submit)]
) -> Response:
    """Remove the user and revoke its token, after submitting a job that deletes all of its containers.

    The response is 202 with the delete job when the user owned containers,
    and 204 when it owned none. An admin may remove itself only while another
    admin exists (409 otherwise).
    """
    job = await run_in_threadpool(
        remove_user_and_containers, name, runtime, submit.submit_delete, removed_by=caller.name
    )
    if job is None:
        return Response(status_code=204)
    return JSONResponse(job_accepted(request, job).model_dump(mode="json"), status_code=202)


@router.post("/users/{name}/token")
def rotate_token(name: str, caller: AdminUser) -> UserCreated:
    """Give the user a new token; the old one stops working at once."""
    token = users.rotate_token(name)
    return UserCreated(**users.get_user(name).to_wire().model_dump(), token=token)
