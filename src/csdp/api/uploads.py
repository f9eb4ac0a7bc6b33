"""Receive a multipart upload straight into the staging folder, with a size limit.

The body is parsed as it arrives, so an upload past the limit is rejected
after ``max_bytes`` and never held in memory. The file is written under a
random name in the staging folder and nowhere else. It is then turned into a
checked tar archive in the same folder, which the worker sends to the engine
and then removes.
"""

from __future__ import annotations

import logging
import tarfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import anyio
from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from csdp.errors import BadRequest, PayloadTooLarge
from csdp.runtime.archive import check_archive, check_member_name

log = logging.getLogger(__name__)

FILE_FIELD = "file"
PART_SUFFIX = ".part"
ARCHIVE_SUFFIX = ".tar"
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_FILE_NAME_CHARS = 255


@dataclass
class StagedUpload:
    """A received file in the staging folder, and the name the client gave it."""

    path: Path
    filename: str
    size: int

    def remove(self) -> None:
        """Delete the received file and the archive made from it; either may be gone already."""
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(ARCHIVE_SUFFIX).unlink(missing_ok=True)


def check_file_name(name: str) -> str:
    """Return ``name`` if it is a plain file name; raise BadRequest for paths such as ``../x``."""
    if not name:
        raise BadRequest("the uploaded part has no file name; send it as multipart field 'file' with a filename", field="filename")
    check_member_name(name)
    if "/" in name or name in (".", "..") or len(name) > MAX_FILE_NAME_CHARS:
        raise BadRequest(
            f"unsafe file name {name!r}: give a plain name of at most {MAX_FILE_NAME_CHARS} characters "
            "without '/', and pass the directory as the path",
            field="filename",
        )
    return name


def too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload is larger than the limit of {max_bytes} bytes (CSDP_MAX_UPLOAD_BYTES); send a smaller file",
        limit="max_upload_bytes",
        value=max_bytes,
    )


class _FilePartWriter:
    """Callbacks for python-multipart that write the ``file`` part to one staged file."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.path = path
        self.filename: str | None = None
        self.size = 0
        self._output: BinaryIO | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False
        self.ended = False

    def callbacks(self) -> dict:
        return {
            "on_end": self._end,
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._append("_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._append("_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _append(self, attribute: str, data: bytes) -> None:
        setattr(self, attribute, getattr(self, attribute) + data)

    def _part_begin(self) -> None:
        self._headers = {}
        self._in_file = False

    def _header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name", b"").decode("utf-8", "replace") != FILE_FIELD:
            return
        if self._output is not None or self.filename is not None:
            raise BadRequest("the request has more than one 'file' part; upload one file per request", field="file")
        self.filename = check_file_name(options.get(b"filename", b"").decode("utf-8", "replace"))
        self._output = open(self.path, "xb")
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        self.size += end - start
        if self.size > self.max_bytes:
            raise too_large(self.max_bytes)
        self._output.write(data[start:end])

    def _part_end(self) -> None:
        if self._in_file:
            self._output.close()
            self._in_file = False

    def _end(self) -> None:
        self.ended = True

    def close(self) -> None:
        if self._output is not None and not self._output.closed:
            self._output.close()


async def receive_file(request: Request, staging_dir: Path, max_bytes: int) -> StagedUpload:
    """Stream the multipart field ``file`` into a new file of the staging folder and return it.

    Raises BadRequest for a body that is not multipart, has no file part or an
    unsafe file name, and PayloadTooLarge past ``max_bytes``. On any error the
    staged file is removed.
    """
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise BadRequest("send the file as multipart/form-data in the field 'file'", field="file")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise too_large(max_bytes)

    staging_dir = Path(staging_dir)
    staging_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    writer = _FilePartWriter(staging_dir / f"upload-{uuid.uuid4().hex}{PART_SUFFIX}", max_bytes)
    parser = MultipartParser(boundary, writer.callbacks())
    try:
        async for chunk in request.stream():
            # File writes block, so they run in a worker thread.
            await anyio.to_thread.run_sync(parser.write, chunk)
        parser.finalize()
        writer.close()
        if not writer.ended:
            raise BadRequest("the multipart body ends before its closing boundary, so the upload is incomplete; send it again",
                             field="file")
        if writer.filename is None:
            raise BadRequest("the request has no multipart field 'file'; send the file in it", field="file")
    except ClientDisconnect:
        writer.close()
        writer.path.unlink(missing_ok=True)
        raise BadRequest("the client closed the connection before the upload ended; send it again") from None
    except ParseError as exc:
        writer.close()
        writer.path.unlink(missing_ok=True)
        raise BadRequest(f"the multipart body is malformed ({exc}); send the file as multipart field 'file'", field="file") from None
    except BaseException:
        writer.close()
        writer.path.unlink(missing_ok=True)
        raise
    log.info("staged upload %s: file %r, %d bytes", writer.path.stem, writer.filename, writer.size)
    return StagedUpload(path=writer.path, filename=writer.filename, size=writer.size)


async def discard_body(request: Request, max_bytes: int) -> None:
    """Read and drop the rest of the body (at most ``max_bytes``), so the client can read an early error."""
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                return
    except ClientDisconnect:
        return


def make_archive(staged: StagedUpload, extract: bool, max_unpacked_bytes: int) -> Path:
    """Return a checked tar archive of the staged upload, next to it in the staging folder.

    With ``extract`` the upload is itself a tar (plain or compressed) whose
    members are checked. Otherwise it becomes the only member of a new tar,
    named by its file name. Raises BadRequest naming an unsafe member or an
    archive that unpacks to more than ``max_unpacked_bytes``.
    """
    target = staged.path.with_suffix(ARCHIVE_SUFFIX)
    if extract:
        with open(staged.path, "rb") as archive:
            check_archive(archive, max_unpacked_bytes)
        staged.path.rename(target)
        return target

    info = tarfile.TarInfo(staged.filename)
    info.size = staged.size
    info.mode = 0o644
    info.mtime = int(time.time())
    with tarfile.open(target, mode="w", format=tarfile.PAX_FORMAT) as tar, open(staged.path, "rb") as data:
        tar.addfile(info, data)
    staged.path.unlink()
    return target
