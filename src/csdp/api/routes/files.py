"""Copy files into a container (a job) and out of it (a tar stream)."""

from __future__ import annotations

import logging
import posixpath
from types import ModuleType
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from csdp.api.convert import job_accepted
from csdp.api.deps import CurrentUser, RuntimeDep, SettingsDep, get_submit, owned_container
from csdp.api.streams import iterate_in_thread
from csdp.api.uploads import discard_body, make_archive, receive_file
from csdp.errors import BadRequest, CsdpError, InvalidInput, NotFound
from csdp.runtime.base import Runtime
from csdp.runtime.names import short_id
from csdp.runtime.upload_targets import check_upload_target
from csdp.wire import JobAccepted

log = logging.getLogger(__name__)

router = APIRouter(tags=["files"])

DIRECTORY_CHECK_SECONDS = 5
# os.FileMode of Go, as the engine reports it: the directory bit.
GO_MODE_DIR = 1 << 31

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary", "description": "A file, or a tar with extract=true."}},
                }
            }
        },
    }
}
UPLOAD_ERRORS = {
    400: {"description": "Unsafe file name or archive member, a path that is not a directory, or a path under /dev, /proc or /sys."},
    404: {"description": "The container or the directory does not exist."},
    413: {"description": "The upload is larger than the limit."},
}


def check_container_path(path: str) -> str:
    """Return ``path`` normalized if it is absolute, or raise InvalidInput."""
    if not path.startswith("/") or "\x00" in path:
        raise InvalidInput(f"path must be an absolute path in the container such as /tmp, got {path!r}", field="path")
    return posixpath.normpath(path)


def directory_exists(runtime: Runtime, container_id: str, path: str) -> bool:
    """Return whether ``path`` is a directory in the container.

    ``test -d`` needs one exec. A stopped container cannot exec, so then the
    stat the engine sends with an archive of the path decides.
    """
    try:
        result = runtime.exec(container_id, ["test", "-d", path], timeout=DIRECTORY_CHECK_SECONDS)
        if result.exit_code in (0, 1):
            return result.exit_code == 0
        log.info("container %s: 'test -d' gave exit code %d; checking %s by its stat", short_id(container_id), result.exit_code, path)
    except NotFound:
        raise
    except CsdpError as exc:
        log.info("container %s: exec failed (%s); checking %s by its stat", short_id(container_id), exc.message, path)
    try:
        chunks, stat = runtime.get_files(container_id, path)
    except NotFound:
        return False
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    return bool(int(stat.get("mode", 0)) & GO_MODE_DIR)


def path_exists(runtime: Runtime, container_id: str, path: str) -> bool:
    """Return whether anything exists at ``path`` in the container: by ``test -e``, or by the engine's stat if exec fails."""
    try:
        result = runtime.exec(container_id, ["test", "-e", path], timeout=DIRECTORY_CHECK_SECONDS)
        if result.exit_code in (0, 1):
            return result.exit_code == 0
    except NotFound:
        raise
    except CsdpError as exc:
        log.info("container %s: exec failed (%s); checking %s by its stat", short_id(container_id), exc.message, path)
    try:
        chunks, _stat = runtime.get_files(container_id, path)
    except NotFound:
        return False
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
    return True


@router.put("/containers/{container_id}/files", status_code=202, openapi_extra=UPLOAD_BODY, responses=UPLOAD_ERRORS)
async def upload_files(
    container_id: str,
    request: Request,
    user: CurrentUser,
    runtime: RuntimeDep,
    settings: SettingsDep,
    submit: Annotated[ModuleType, Depends(get_submit)],
    path: Annotated[str, Query(description="Existing directory in the container.")],
    extract: Annotated[bool, Query(description="The file is a tar archive to extract into path.")] = False,
) -> JobAccepted:
    """Upload a file (or extract a tar) into an existing directory of the container."""
    try:
        directory = check_container_path(path)
        check_upload_target(directory)
        info = await run_in_threadpool(owned_container, runtime, user, container_id)
        if not await run_in_threadpool(directory_exists, runtime, info.id, directory):
            if await run_in_threadpool(path_exists, runtime, info.id, directory):
                raise BadRequest(f"{directory!r} in container {container_id} is not a directory; give the directory "
                                 "the file goes into", field="path", path=directory)
            raise NotFound(f"directory {directory!r} does not exist in container {container_id}; create it or pick another path",
                           field="path", path=directory)
    except CsdpError:
        # Reading the rest of the body lets the client read the error instead of a reset connection.
        await discard_body(request, settings.max_upload_bytes)
        raise

    staged = await receive_file(request, settings.staging_dir, settings.max_upload_bytes)
    try:
        archive = await run_in_threadpool(make_archive, staged, extract, settings.max_unpacked_bytes)
        record = await run_in_threadpool(submit.submit_upload, info.owner, info.id, directory, archive)
    except BaseException:
        staged.remove()
        raise
    return job_accepted(request, record)


@router.get("/containers/{container_id}/files", response_class=StreamingResponse,
            responses={200: {"content": {"application/x-tar": {}}, "description": "A tar archive of the path."}})
async def download_files(
    container_id: str,
    user: CurrentUser,
    runtime: RuntimeDep,
    path: Annotated[str, Query(description="File or directory in the container.")],
) -> StreamingResponse:
    """Download a file or directory of the container as a tar archive."""
    path = check_container_path(path)
    info = await run_in_threadpool(owned_container, runtime, user, container_id)
    chunks, _stat = await run_in_threadpool(runtime.get_files, info.id, path)
    name = posixpath.basename(path.rstrip("/")) or "root"
    headers = {"Content-Disposition": f'attachment; filename="{name}.tar"'}
    return StreamingResponse(iterate_in_thread(chunks, f"download from container {short_id(info.id)}"),
                             media_type="application/x-tar", headers=headers)
