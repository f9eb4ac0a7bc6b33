"""Liveness and readiness."""

from __future__ import annotations

import logging
from typing import Annotated, Callable

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from csdp.errors import EngineUnavailable
from csdp.settings import get_settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 3
# Short, because a load balancer polls /ready and the count is one round trip.
WORKER_CHECK_TIMEOUT_SECONDS = 2


def _check_redis() -> str:
    import redis

    client = redis.Redis.from_url(get_settings().redis_url, socket_timeout=CHECK_TIMEOUT_SECONDS,
                                  socket_connect_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _check_broker() -> str:
    from kombu import Connection

    with Connection(get_settings().broker_url, connect_timeout=CHECK_TIMEOUT_SECONDS) as connection:
        connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT_SECONDS)
    return "ok"


class NoWorker(Exception):
    """No worker consumes the realtime queue, so submitted jobs would wait in it."""


def _check_worker() -> str:
    """Return the consumer count of the realtime queue as text, or raise NoWorker when there are none."""
    from amqp.exceptions import NotFound as QueueNotFound
    from kombu import Connection

    from csdp.workflows.app import REALTIME, queue_name

    settings = get_settings()
    queue = queue_name(REALTIME, settings)
    hint = "start one with 'csdp server worker'"
    options = {"read_timeout": WORKER_CHECK_TIMEOUT_SECONDS, "write_timeout": WORKER_CHECK_TIMEOUT_SECONDS}
    with Connection(settings.broker_url, connect_timeout=WORKER_CHECK_TIMEOUT_SECONDS, transport_options=options) as connection:
        connection.ensure_connection(max_retries=1, timeout=WORKER_CHECK_TIMEOUT_SECONDS)
        try:
            # A passive declare only reads the queue: its message and consumer counts.
            _, _, consumers = connection.default_channel.queue_declare(queue=queue, passive=True)
        except QueueNotFound:
            raise NoWorker(f"no worker has declared the queue {queue!r} yet; {hint}") from None
    if consumers < 1:
        raise NoWorker(f"no worker consumes the queue {queue!r}, so jobs would wait in it; {hint}")
    return f"{consumers} consumer(s)"


def _check_engine() -> str:
    from csdp.runtime import get_runtime

    return get_runtime().ping()


def get_readiness_checks() -> dict[str, Callable[[], str]]:
    """Return the dependency checks by name; each returns a short status or raises."""
    return {"redis": _check_redis, "broker": _check_broker, "worker": _check_worker, "engine": _check_engine}


@router.get("/health")
async def health() -> dict[str, str]:
    """Return ok while the process serves requests, without checking any dependency."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A dependency is down; the message names it."}})
async def ready(checks: Annotated[dict[str, Callable[[], str]], Depends(get_readiness_checks)]) -> dict:
    """Check Redis, the broker, a worker on the realtime queue and the container engine; 503 names each one that is down."""
    results: dict[str, str] = {}
    down: list[str] = []
    for name, check in checks.items():
        try:
            results[name] = await run_in_threadpool(check)
        except Exception as exc:  # any failure of a dependency means not ready
            log.warning("readiness check %s failed: %s", name, exc)
            results[name] = f"down: {exc}"
            down.append(name)
    if down:
        reasons = "; ".join(f"{name} {results[name]}" for name in down)
        raise EngineUnavailable(f"not ready: {reasons}; check that each is running and reachable", checks=results)
    return {"status": "ready", "checks": results}


# Monitors and load balancers often probe with HEAD; the schema lists only GET.
router.add_api_route("/health", health, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/ready", ready, methods=["HEAD"], include_in_schema=False)
