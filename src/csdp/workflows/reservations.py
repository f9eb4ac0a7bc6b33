"""Container reservations of queued and running start jobs, so concurrent starts respect the per-user limit.

A start job creates its containers some time after it was submitted. The
limit check therefore counts, besides the owner's containers, the containers
each of the owner's unfinished start jobs may still create. Check and
reservation happen under a per-owner lock, so two submits of one owner
cannot both pass on the same count.

Keys:

- ``csdp:reserved:<owner>``: hash of job id to the number of containers the
  job will create. An entry is removed when the job ends. The key expires
  after ``job_ttl_seconds`` in case a job never ends;
- ``csdp:reserve-lock:<owner>``: the lock, a random token set with NX and a
  short expiry, so a crashed lock owner blocks other requests only briefly.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from typing import Callable, Iterator

import redis

from csdp.errors import EngineUnavailable
from csdp.runtime.base import ContainerInfo
from csdp.wire import TERMINAL_STATES
from csdp.workflows.jobs import JobStore

log = logging.getLogger(__name__)

RESERVED_KEY = "csdp:reserved:{owner}"
LOCK_KEY = "csdp:reserve-lock:{owner}"
# The lock covers a container list and a few Redis calls; it expires by itself if its holder dies.
LOCK_EXPIRY_MS = 30_000
LOCK_WAIT_SECONDS = 20.0
LOCK_POLL_SECONDS = 0.01


class Reservations:
    """Reservations of one Redis; every method is safe to call from many threads and processes."""

    def __init__(self, store: JobStore | None = None) -> None:
        self.store = store or JobStore()
        self.client: redis.Redis = self.store.client

    @contextlib.contextmanager
    def locked(self, owner: str) -> Iterator[None]:
        """Hold the owner's lock for the block; raise EngineUnavailable when it stays taken too long."""
        key = LOCK_KEY.format(owner=owner)
        token = uuid.uuid4().hex
        give_up = time.monotonic() + LOCK_WAIT_SECONDS
        while not self.client.set(key, token, nx=True, px=LOCK_EXPIRY_MS):
            if time.monotonic() > give_up:
                raise EngineUnavailable(
                    f"the container limit of {owner!r} is being checked by another request for too long; try again"
                )
            time.sleep(LOCK_POLL_SECONDS)
        try:
            yield
        finally:
            self._unlock(key, token)

    def _unlock(self, key: str, token: str) -> None:
        # Deleted only if still ours: after an expiry another request may hold it.
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                if pipe.get(key) == token:
                    pipe.multi()
                    pipe.delete(key)
                    pipe.execute()
                else:
                    pipe.unwatch()
            except redis.WatchError:
                log.warning("lock %s changed while it was released", key)

    def count(self, owner: str, list_containers: Callable[[], list[ContainerInfo]]) -> tuple[int, int]:
        """Return the owner's containers and how many more its unfinished start jobs may still create.

        The reservations are read before the containers are listed: a
        container created in between is then counted once, and a job that
        ends in between is still counted, never left out. Entries of ended or
        expired jobs are dropped.
        """
        key = RESERVED_KEY.format(owner=owner)
        reserved = self.client.hgetall(key)
        containers = list_containers()
        created: dict[str, int] = {}
        for info in containers:
            created[info.job_id] = created.get(info.job_id, 0) + 1
        pending = 0
        for job_id, count in reserved.items():
            record = self.store.get(job_id)
            if record is None or record.state in TERMINAL_STATES:
                self.client.hdel(key, job_id)
                continue
            pending += max(0, int(count) - created.get(job_id, 0))
        return len(containers), pending

    def reserve(self, owner: str, job_id: str, count: int) -> None:
        key = RESERVED_KEY.format(owner=owner)
        with self.client.pipeline() as pipe:
            pipe.hset(key, job_id, count)
            pipe.expire(key, self.store.ttl_seconds)
            pipe.execute()
        log.info("job %s: reserved %d containers for %s", job_id, count, owner)

    def release(self, owner: str, job_id: str) -> None:
        if self.client.hdel(RESERVED_KEY.format(owner=owner), job_id):
            log.info("job %s: released the container reservation of %s", job_id, owner)
