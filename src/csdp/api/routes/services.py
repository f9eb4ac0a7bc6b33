"""Services of the catalog, and jobs on all of a service's containers."""

from __future__ import annotations

from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from csdp.api.convert import job_accepted, service_out
from csdp.api.deps import CatalogDep, CurrentUser, RuntimeDep, SettingsDep, get_submit, owned_container
from csdp.api.result_email import check_result_email
from csdp.catalog import Catalog
from csdp.runtime.base import Runtime
from csdp.wire import JobAccepted, ServiceOut, StartRequest, TargetRequest
from csdp.workflows.users import User

router = APIRouter(tags=["services"])

SubmitDep = Annotated[ModuleType, Depends(get_submit)]


@router.get("/services")
def list_services(user: CurrentUser, catalog: CatalogDep) -> list[ServiceOut]:
    """List every service of the catalog."""
    return [service_out(service) for service in catalog]


@router.get("/services/{service}")
def get_service(service: str, user: CurrentUser, catalog: CatalogDep) -> ServiceOut:
    """Show one service: its ports, parameters and actions."""
    return service_out(catalog.get(service))


def replica_limit(service: str, request: Request, user: CurrentUser, catalog: CatalogDep) -> int:
    """Return the max replicas per request of ``service`` for the caller; an unknown service is 404.

    FastAPI solves this dependency before it checks the body, so a 422 on ``num`` can name the limit.
    """
    limit = min(catalog.get(service).manifest.limits.max_replicas, user.max_replicas_per_request)
    request.state.replica_limit = limit
    return limit


@router.post("/services/{service}/start", status_code=202)
async def start_service(
    service: str,
    body: StartRequest,
    request: Request,
    user: CurrentUser,
    submit: SubmitDep,
    settings: SettingsDep,
    limit: Annotated[int, Depends(replica_limit)],
) -> JobAccepted:
    """Start ``num`` replicas of the service; the job result lists the new containers."""
    check_result_email(body.email, settings)
    record = await run_in_threadpool(
        submit.submit_start,
        user.name,
        service,
        body.num,
        body.parameters,
        body.ttl_seconds,
        body.email,
        max_containers=user.max_containers,
        max_replicas=user.max_replicas_per_request,
    )
    return job_accepted(request, record)


async def _submit_on_service(
    verb: str, service: str, body: TargetRequest, request: Request, user: User, runtime: Runtime, catalog: Catalog,
    submit: ModuleType,
) -> JobAccepted:
    catalog.get(service)
    submit_verb = getattr(submit, f"submit_{verb}")
    if body.container is not None:
        info = await run_in_threadpool(owned_container, runtime, user, body.container)
        record = await run_in_threadpool(submit_verb, info.owner, [info], service)
    else:
        record = await run_in_threadpool(submit_verb, user.name, None, service)
    return job_accepted(request, record)


@router.post("/services/{service}/stop", status_code=202)
async def stop_service(service: str, body: TargetRequest, request: Request, user: CurrentUser, runtime: RuntimeDep,
                       catalog: CatalogDep, submit: SubmitDep) -> JobAccepted:
    """Stop one container of the service, or all of the caller's when no container is given."""
    return await _submit_on_service("stop", service, body, request, user, runtime, catalog, submit)


@router.post("/services/{service}/restart", status_code=202)
async def restart_service(service: str, body: TargetRequest, request: Request, user: CurrentUser, runtime: RuntimeDep,
                          catalog: CatalogDep, submit: SubmitDep) -> JobAccepted:
    """Restart one container of the service, or all of the caller's when no container is given."""
    return await _submit_on_service("restart", service, body, request, user, runtime, catalog, submit)


@router.post("/services/{service}/delete", status_code=202)
async def delete_service(service: str, body: TargetRequest, request: Request, user: CurrentUser, runtime: RuntimeDep,
                         catalog: CatalogDep, submit: SubmitDep) -> JobAccepted:
    """Delete one container of the service, or all of the caller's when no container is given."""
    return await _submit_on_service("delete", service, body, request, user, runtime, catalog, submit)
