"""Owner inventories: the list of an owner's containers, kept current inside the services that declare it.

A service whose manifest has ``owner_inventory`` (a name server that serves
the owner's containers, for example) receives a JSON list of the owner's
running containers after every job that changes them, then runs its reload
command. Only the owner's own containers are listed.

The ends of successful start, stop, restart and delete jobs and each
housekeeping pass that removed containers update the inventories.
NOTE: a failed job removes its containers without an update, so they stay
listed until the owner's next job or housekeeping pass that removes one.
"""

from __future__ import annotations

import json
import logging
import posixpath
from typing import Any

import redis

from csdp.catalog import Catalog
from csdp.catalog.manifest import OwnerInventory
from csdp.errors import CsdpError
from csdp.runtime import ContainerInfo, Runtime, get_runtime
from csdp.runtime.archive import single_file_tar
from csdp.settings import get_settings
from csdp.workflows.specs import get_catalog
from csdp.workflows.steps import describe

log = logging.getLogger(__name__)

# Two jobs of one owner that end together would otherwise each list the
# containers and write, and the older list could be written last.
LOCK_KEY = "csdp:inventory-lock:{owner}"
LOCK_TIMEOUT_SECONDS = 120
LOCK_WAIT_SECONDS = 60


def inventory_entries(containers: list[ContainerInfo]) -> list[dict[str, Any]]:
    """Return the JSON-ready inventory of ``containers``: the running ones, by service and replica."""
    running = sorted((info for info in containers if info.status == "running"), key=lambda info: (info.service, info.name))
    return [
        {"name": info.name, "service": info.service, "ip_address": info.ip_address, "ipv6_address": info.ipv6_address}
        for info in running
    ]


def sync_owner_inventory(
    owner: str,
    job_id: str,
    *,
    runtime: Runtime | None = None,
    catalog: Catalog | None = None,
    client: redis.Redis | None = None,
) -> int:
    """Write the owner's inventory into each of the owner's running containers that declares one; return how many.

    ``client`` is the Redis connection for the per-owner lock. Never raises:
    a container that cannot take the file or whose reload fails is logged,
    and the job that called this is not failed for it.
    """
    runtime = runtime or get_runtime()
    catalog = catalog or get_catalog()
    try:
        # Most owners run no service that takes an inventory; they cost one listing and no lock.
        if not _consumers(runtime.list(owner=owner), catalog):
            return 0
        with _owner_lock(owner, client):
            return _write_inventories(owner, job_id, runtime, catalog)
    except (CsdpError, redis.RedisError) as exc:
        log.warning("%s: cannot update the container inventory of %s: %s", describe(job_id), owner, exc)
    except Exception:
        log.exception("%s: updating the container inventory of %s failed unexpectedly", describe(job_id), owner)
    return 0


def _write_inventories(owner: str, job_id: str, runtime: Runtime, catalog: Catalog) -> int:
    containers = runtime.list(owner=owner)
    consumers = _consumers(containers, catalog)
    if not consumers:
        return 0

    entries = inventory_entries(containers)
    data = json.dumps(entries, indent=1).encode("utf-8")
    written = 0
    for info, inventory in consumers:
        where = describe(job_id, info.id)
        directory, name = posixpath.split(inventory.path)
        try:
            runtime.put_files(info.id, directory, single_file_tar(name, data))
            written += 1
            if inventory.reload:
                result = runtime.exec(info.id, list(inventory.reload), timeout=inventory.timeout_seconds)
                if result.exit_code != 0:
                    output = (result.stdout + result.stderr).decode("utf-8", "replace").strip()[-500:]
                    log.warning("%s: inventory reload exited with %d: %s", where, result.exit_code, output)
                    continue
        except CsdpError as exc:
            # The container may be stopping or gone since it was listed.
            log.warning("%s: cannot update the inventory in %s: %s", where, info.name, exc.message)
            continue
        log.info("%s: wrote the inventory of %d containers to %s", where, len(entries), info.name)
    return written


def _consumers(containers: list[ContainerInfo], catalog: Catalog) -> list[tuple[ContainerInfo, OwnerInventory]]:
    """Return the running containers whose service declares an owner inventory, each with that declaration."""
    consumers = []
    for info in containers:
        if info.status != "running" or info.service not in catalog:
            continue
        inventory = catalog.get(info.service).manifest.owner_inventory
        if inventory is not None:
            consumers.append((info, inventory))
    return consumers


class _owner_lock:
    """A Redis lock per owner around listing and writing, so the newest list is written last."""

    def __init__(self, owner: str, client: redis.Redis | None) -> None:
        client = client if client is not None else redis.Redis.from_url(get_settings().redis_url)
        self._lock = client.lock(LOCK_KEY.format(owner=owner), timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=LOCK_WAIT_SECONDS)
        self._owner = owner

    def __enter__(self) -> None:
        if not self._lock.acquire():
            raise redis.exceptions.LockError(f"the inventory of {self._owner} stayed locked for {LOCK_WAIT_SECONDS} s")

    def __exit__(self, *exc_info: Any) -> None:
        # The inventories are written by now; a lock that cannot be released expires by itself.
        try:
            self._lock.release()
        except redis.RedisError as exc:
            log.warning("cannot release the inventory lock of %s, it expires within %d s: %s", self._owner, LOCK_TIMEOUT_SECONDS, exc)
