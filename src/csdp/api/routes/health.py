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


def _check_engine() -> str:
    from csdp.runtime import get_runtime

    return get_runtime().ping()


def get_readiness_checks() -> dict[str, Callable[[], str]]:
    """Return the dependency checks by name; each returns a short status or raises."""
    return {"redis": _check_redis, "broker": _check_broker, "engine": _check_engine}


@router.get("/health")
async def health() -> dict[str, str]:
    """Return ok while the process serves requests, without checking any dependency."""
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A dependency is down; the message names it."}})
async def ready(checks: Annotated[dict[str, Callable[[], str]], Depends(get_readiness_checks)]) -> dict:
    """Check Redis, the broker and the container engine; 503 names each one that is down."""
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
        raise EngineUnavailable(f"not ready: {', '.join(down)} down; check that the service is running and reachable",
                                checks=results)
    return {"status": "ready", "checks": results}
