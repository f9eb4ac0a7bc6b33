"""Removing a user together with the containers it owns.

Containers are matched to users by the owner label alone, so a user removed
with containers left running would hand them to the next user of that name.
"""

from __future__ import annotations

import logging
from typing import Callable

from csdp.errors import Conflict
from csdp.runtime.base import ContainerInfo, Runtime
from csdp.wire import JobRecord
from csdp.workflows import users

log = logging.getLogger(__name__)

SubmitDelete = Callable[[str, list[ContainerInfo]], JobRecord]


def check_not_last_admin(name: str, removed_by: str | None) -> None:
    """Raise Conflict when the admin ``name`` removes itself and no other admin exists."""
    user = users.get_user(name)
    if removed_by != name or not user.admin:
        return
    if not any(other.admin for other in users.list_users() if other.name != name):
        raise Conflict(
            f"user {name!r} is the only admin, and removing it would leave no admin to manage users; "
            "add another admin first with POST /api/v1/admin/users",
            field="name",
        )


def remove_user_and_containers(
    name: str,
    runtime: Runtime,
    submit_delete: SubmitDelete,
    *,
    removed_by: str | None = None,
) -> JobRecord | None:
    """Submit a delete job for every container of ``name``, then remove the user and revoke its token.

    Returns the delete job, or None when the user owned no containers. Raises
    NotFound for an unknown user, Conflict when an admin removes itself while
    no other admin exists, and EngineUnavailable when the job cannot be
    queued, in which case the user is kept.
    """
    check_not_last_admin(name, removed_by)
    containers = runtime.list(owner=name)
    job = None
    if containers:
        job = submit_delete(name, containers)
        log.info("job %s: deleting the %d containers of user %s before removing it", job.id, len(containers), name)
    users.remove_user(name)
    return job
