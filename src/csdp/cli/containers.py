"""Pick the one container a command acts on, from an id, an id prefix or a name."""

from __future__ import annotations

from typing import Any

from csdp.client.client import Client
from csdp.errors import InvalidInput, NotFound


def resolve_container(client: Client, service: str, reference: str | None) -> dict[str, Any]:
    """Return the caller's container of ``service`` named by ``reference``, or the only one when it is None."""
    check_reference(reference)
    containers = client.show(service)
    if reference is not None:
        matches = [item for item in containers if item["id"].startswith(reference) or item["name"] == reference]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise NotFound(
                f"no {service} container has the id or name {reference!r}; csdp {service} show lists them",
                field="container",
            )
        raise InvalidInput(
            f"{reference!r} matches {len(matches)} {service} containers; give more of the id", field="container"
        )
    if len(containers) == 1:
        return containers[0]
    if not containers:
        raise NotFound(f"you have no {service} containers; start one with csdp {service} start", field="container")
    ids = ", ".join(item["id"][:12] for item in containers)
    raise InvalidInput(
        f"you have {len(containers)} {service} containers; choose one with --container ID ({ids})", field="container"
    )


def check_reference(reference: str | None) -> None:
    """Raise InvalidInput for an empty ``--container``: only an omitted option may mean "all containers"."""
    if reference is not None and not reference.strip():
        raise InvalidInput(
            "--container is empty; give a container id, an id prefix or a name, or leave --container out",
            field="container",
        )
