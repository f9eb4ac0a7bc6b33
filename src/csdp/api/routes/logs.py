"""Container output: an ndjson stream, optionally followed until the container exits."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from csdp.api.deps import CurrentUser, RuntimeDep, owned_container
from csdp.api.streams import NDJSON, log_item, ndjson_stream
from csdp.runtime.names import short_id

router = APIRouter(tags=["containers"])

LOG_RESPONSES = {200: {"content": {NDJSON: {}}, "description": 'Lines of {"stream", "timestamp", "text"}; '
                       'with follow, a final {"event": "end", "status", "exit_code"}.'}}


@router.get("/containers/{container_id}/logs", response_class=StreamingResponse, responses=LOG_RESPONSES)
async def get_logs(
    container_id: str,
    user: CurrentUser,
    runtime: RuntimeDep,
    follow: bool = False,
    since: datetime | None = None,
    until: datetime | None = None,
    tail: Annotated[int | None, Query(ge=0, le=100_000, description="Only the last N lines.")] = None,
) -> StreamingResponse:
    """Stream the container's output since the last clear; with follow, until it exits or the client leaves."""
    info = await run_in_threadpool(owned_container, runtime, user, container_id)
    lines = ndjson_stream(
        lambda: runtime.logs(info.id, since=since, until=until, follow=follow, tail=tail),
        log_item,
        f"logs of container {short_id(info.id)}",
    )
    return StreamingResponse(lines, media_type=NDJSON)


@router.post("/containers/{container_id}/logs/clear", status_code=204)
async def clear_logs(container_id: str, user: CurrentUser, runtime: RuntimeDep) -> Response:
    """Hide all output so far from later log requests."""
    info = await run_in_threadpool(owned_container, runtime, user, container_id)
    await run_in_threadpool(runtime.clear_logs, info.id)
    return Response(status_code=204)
