"""Run a command in a container and wait for it, buffered or streamed."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from csdp.api.deps import CurrentUser, RuntimeDep, SettingsDep, owned_container
from csdp.api.streams import NDJSON, exec_item, ndjson_stream
from csdp.runtime.execs import check_environment
from csdp.runtime.names import short_id
from csdp.wire import ExecRequest, ExecResponse

router = APIRouter(tags=["containers"])

EXEC_RESPONSES = {200: {"content": {NDJSON: {}}, "description": 'ExecResponse; with stream, lines of {"stream", "data"} '
                        'then {"event": "exit", "exit_code", "timed_out"}.'}}


@router.post("/containers/{container_id}/exec", response_model=ExecResponse, responses=EXEC_RESPONSES)
async def exec_command(container_id: str, body: ExecRequest, user: CurrentUser, runtime: RuntimeDep,
                       settings: SettingsDep):
    """Run the command with a time limit; on timeout the exit code is 124 and timed_out is true."""
    info = await run_in_threadpool(owned_container, runtime, user, container_id)
    # Checked here as well, so a streamed exec fails before its response starts.
    check_environment(body.environment)
    timeout = body.timeout_seconds or settings.exec_timeout_seconds
    if body.stream:
        chunks = ndjson_stream(
            lambda: runtime.exec_stream(info.id, body.command, timeout=timeout, environment=body.environment,
                                        workdir=body.workdir),
            exec_item,
            f"exec in container {short_id(info.id)}",
        )
        return StreamingResponse(chunks, media_type=NDJSON)
    result = await run_in_threadpool(runtime.exec, info.id, body.command, timeout=timeout,
                                     environment=body.environment, workdir=body.workdir)
    return ExecResponse(
        exit_code=result.exit_code,
        stdout=result.stdout.decode("utf-8", "replace"),
        stderr=result.stderr.decode("utf-8", "replace"),
        timed_out=result.timed_out,
        truncated=result.truncated,
    )
