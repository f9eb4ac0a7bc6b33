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
from csdp.errors import Conflict, Forbidden, NotFound, Unauthorized
from csdp.runtime.base import ContainerInfo, Runtime
from csdp.runtime.names import short_id
from csdp.settings import Settings
from csdp.settings import get_settings as _get_settings
from csdp.workflows.jobs import JobStore
from csdp.workflows.users import User

log = logging.getLogger(__name__)

bearer_scheme = HTTPBearer(auto_error=False, description="The token from 'csdp admin user add' or POST /admin/users.")


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
    # User tokens, and the owner tokens written into containers of services with inject_owner_token.
    from csdp.workflows.container_tokens import authenticate

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
        raise Unauthorized("invalid or revoked token: ask an admin for a new one with 'csdp admin user rotate-token NAME'")
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


# Shorter prefixes match too many ids to be a deliberate choice of one container.
MIN_ID_PREFIX_LENGTH = 4
SHOWN_REFERENCE_CHARS = 80


def container_not_found(container_id: str) -> NotFound:
    """Return the one NotFound used for both a missing container and one of another user."""
    return NotFound(
        f"container {container_id!r} not found; list your containers with GET /api/v1/containers",
        field="container",
    )


def resolve_container_reference(candidates: list[ContainerInfo], reference: str) -> ContainerInfo | None:
    """Return the one candidate whose full id or name is ``reference``, or whose id starts with it.

    A prefix needs at least MIN_ID_PREFIX_LENGTH characters. Returns None when
    nothing matches, and raises Conflict when the prefix matches more than one.
    """
    for info in candidates:
        if reference in (info.id, info.name):
            return info
    if len(reference) < MIN_ID_PREFIX_LENGTH:
        return None
    matches = [info for info in candidates if info.id.startswith(reference)]
    if len(matches) > 1:
        raise Conflict(
            f"container id prefix {reference!r} matches {len(matches)} of your containers; give more characters of the id",
            field="container",
            matches=len(matches),
        )
    return matches[0] if matches else None


def owned_container(runtime: Runtime, user: User, container_id: str) -> ContainerInfo:
    """Return the container if the caller may use it; otherwise raise the same NotFound as for a missing one.

    ``container_id`` is a full id, a unique id prefix or a container name. It
    is looked up only among the caller's containers (for admins, all managed
    containers), so a prefix shared with other users' containers neither
    fails nor reveals that they exist.
    """
    if not container_id:
        raise container_not_found(container_id)
    candidates = runtime.list(owner=None if user.admin else user.name)
    # A container without an owner label is not the platform's, so not even admins may use it.
    candidates = [info for info in candidates if info.owner]
    match = resolve_container_reference(candidates, container_id)
    if match is None:
        log.info("user %s requested container %r, which is missing or not theirs", user.name, container_id[:SHOWN_REFERENCE_CHARS])
        raise container_not_found(container_id)

    # The list gives a summary; inspect gives current addresses and status.
    try:
        info = runtime.info(match.id)
    except NotFound:
        raise container_not_found(container_id) from None
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
