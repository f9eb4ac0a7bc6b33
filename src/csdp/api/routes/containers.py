"""Containers: list and show read the engine directly; stop, restart and delete are jobs."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from csdp.api.convert import container_out, job_accepted
from csdp.api.deps import CatalogDep, CurrentUser, RuntimeDep, get_submit, owned_container, owner_filter
from csdp.runtime.base import Runtime
from csdp.wire import ContainerOut, JobAccepted
from csdp.workflows.users import User

router = APIRouter(tags=["containers"])

SubmitDep = Annotated[ModuleType, Depends(get_submit)]


@router.get("/containers")
def list_containers(
    user: CurrentUser,
    runtime: RuntimeDep,
    catalog: CatalogDep,
    service: str | None = None,
    owner: Annotated[str | None, Query(description="Admins only: list the containers of this user.")] = None,
    all_users: Annotated[bool, Query(description="Admins only: list everyone's containers.")] = False,
) -> list[ContainerOut]:
    """List the caller's containers, stopped ones included; an unknown service is 404 like on the other routes."""
    if service is not None:
        catalog.get(service)
    infos = runtime.list(owner=owner_filter(user, owner, all_users), service=service)
    return [container_out(info) for info in sorted(infos, key=lambda info: (info.owner, info.service, info.name))]


@router.get("/containers/{container_id}")
def get_container(container_id: str, user: CurrentUser, runtime: RuntimeDep) -> ContainerOut:
    """Show one container: addresses, ports, status and expiry."""
    return container_out(owned_container(runtime, user, container_id))


async def _submit_on_container(
    verb: str, container_id: str, request: Request, user: User, runtime: Runtime, submit: ModuleType
) -> JobAccepted:
    info = await run_in_threadpool(owned_container, runtime, user, container_id)
    record = await run_in_threadpool(getattr(submit, f"submit_{verb}"), info.owner, [info])
    return job_accepted(request, record)


@router.post("/containers/{container_id}/stop", status_code=202)
async def stop_container(container_id: str, request: Request, user: CurrentUser, runtime: RuntimeDep,
                         submit: SubmitDep) -> JobAccepted:
    """Stop the container."""
    return await _submit_on_container("stop", container_id, request, user, runtime, submit)


@router.post("/containers/{container_id}/restart", status_code=202)
async def restart_container(container_id: str, request: Request, user: CurrentUser, runtime: RuntimeDep,
                            submit: SubmitDep) -> JobAccepted:
    """Restart the container."""
    return await _submit_on_container("restart", container_id, request, user, runtime, submit)


@router.delete("/containers/{container_id}", status_code=202)
async def delete_container(container_id: str, request: Request, user: CurrentUser, runtime: RuntimeDep,
                           submit: SubmitDep) -> JobAccepted:
    """Remove the container."""
    return await _submit_on_container("delete", container_id, request, user, runtime, submit)


@router.delete("/containers", status_code=202)
async def delete_all_containers(request: Request, user: CurrentUser, submit: SubmitDep) -> JobAccepted:
    """Remove every container the caller owns."""
    record = await run_in_threadpool(submit.submit_delete, user.name, None)
    return job_accepted(request, record)
