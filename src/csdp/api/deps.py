"""Dependencies of the routes: the caller, the runtime, the catalog, the job store and submit.

Each one is a function so that unit tests can replace it through
``app.dependency_overrides`` with a fake.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from types import ModuleType
from typing import Annotated, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from csdp.catalog import Catalog
from csdp.errors import Forbidden, NotFound, Unauthorized
from csdp.runtime.base import ContainerInfo, Runtime
from csdp.runtime.names import short_id
from csdp.settings import Settings
from csdp.settings import get_settings as _get_settings
from csdp.workflows.jobs import JobStore
from csdp.workflows.users import User

log = logging.getLogger(__name__)

bearer_scheme = HTTPBearer(auto_error=False, description="The token from 'csdp admin add-user' or POST /admin/users.")


def get_settings() -> Settings:
    return _get_settings()


def get_runtime() -> Runtime:
    from csdp.runtime import get_runtime as runtime_backend

    return runtime_backend()


def get_catalog() -> Catalog:
    # The same cached catalog as the submit functions use.
    from csdp.workflows.specs import get_catalog as shared_catalog

    return shared_catalog()


@lru_cache(maxsize=1)
def _job_store() -> JobStore:
    return JobStore()


def get_job_store() -> JobStore:
    return _job_store()


def get_submit() -> ModuleType:
    """Return the module holding the ``submit_*`` functions."""
    from csdp.workflows import submit

    return submit


def get_authenticator() -> Callable[[str], User | None]:
    from csdp.workflows.users import authenticate

    return authenticate


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    authenticate: Annotated[Callable[[str], User | None], Depends(get_authenticator)],
) -> User:
    """Return the caller named by the bearer token, or raise Unauthorized."""
    if credentials is None:
        raise Unauthorized("missing credentials: send the header 'Authorization: Bearer <token>'")
    user = authenticate(credentials.credentials)
    if user is None:
        raise Unauthorized("invalid or revoked token: ask an admin for a new one with 'csdp admin rotate-token'")
    # The error handler reads the caller to name their limits in validation errors.
    request.state.user = user
    return user


def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    """Return the caller if they are an admin, or raise Forbidden."""
    if not user.admin:
        raise Forbidden(f"user {user.name!r} is not an admin; this request needs an admin token")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def container_not_found(container_id: str) -> NotFound:
    """Return the one NotFound used for both a missing container and one of another user."""
    return NotFound(
        f"container {container_id!r} not found; list your containers with GET /api/v1/containers",
        field="container",
    )


def owned_container(runtime: Runtime, user: User, container_id: str) -> ContainerInfo:
    """Return the container if the caller may use it; otherwise raise the same NotFound as for a missing one."""
    try:
        info = runtime.info(container_id)
    except NotFound:
        raise container_not_found(container_id) from None
    # A container without an owner label is not the platform's, so not even admins may use it.
    if not info.owner or (not user.admin and info.owner != user.name):
        log.info("user %s requested container %s, which is not theirs", user.name, short_id(info.id))
        raise container_not_found(container_id)
    return info


def owner_filter(user: User, owner: str | None, all_users: bool) -> str | None:
    """Return the owner to list for: the caller, or for admins another user or everyone (None)."""
    if not user.admin:
        if (owner is not None and owner != user.name) or all_users:
            raise Forbidden("only admins may pass owner or all_users; leave them out to see your own")
        return user.name
    if all_users:
        return None
    return owner or user.name
