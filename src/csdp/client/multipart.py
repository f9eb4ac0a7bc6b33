"""A streamed multipart/form-data body holding one file, so large uploads never sit in memory."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

CHUNK_BYTES = 1024 * 1024


def file_body(
    path: Path, *, field: str = "file", filename: str | None = None
) -> tuple[dict[str, str], Iterator[bytes]]:
    """Return the headers (with Content-Length) and the body chunks of a one-file form."""
    boundary = "csdp-" + uuid.uuid4().hex
    name = (filename or path.name).replace('"', "%22").replace("\r", "").replace("\n", "")
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode("utf-8")
    tail = f"\r\n--{boundary}--\r\n".encode("ascii")
    size = os.path.getsize(path)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(len(head) + size + len(tail)),
    }

    def chunks() -> Iterator[bytes]:
        yield head
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk
        yield tail

    return headers, chunks()
