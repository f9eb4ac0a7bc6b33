"""Tar archives going into containers: safety checks and builders.

Nothing here extracts anything on the host. Archives are checked here and then
streamed to the engine, which extracts them inside the container.
"""

from __future__ import annotations

import io
import posixpath
import stat
import tarfile
import tempfile
import time
from typing import BinaryIO, Callable

from csdp.errors import BadRequest

# Archives larger than this are spooled to a temporary file instead of memory.
SPOOL_BYTES = 8 * 1024 * 1024
# Unpacked size accepted when the caller gives no limit.
DEFAULT_MAX_UNPACKED_BYTES = 1024 * 1024 * 1024
# Set-user-ID and set-group-ID would let a file run with its owner's rights inside the container.
PRIVILEGE_BITS = stat.S_ISUID | stat.S_ISGID


def check_member_name(name: str) -> None:
    """Raise BadRequest unless ``name`` is a relative path that stays inside its target directory."""
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        raise BadRequest(
            f"unsafe path {name!r} in upload: use a relative path without backslashes",
            field="path",
            member=name,
        )
    if ".." in name.split("/"):
        raise BadRequest(
            f"unsafe path {name!r} in upload: '..' would leave the target directory; remove it",
            field="path",
            member=name,
        )


def check_member(member: tarfile.TarInfo) -> None:
    """Raise BadRequest unless ``member`` is a regular file or a directory with a safe name."""
    check_member_name(member.name)
    if member.issym() or member.islnk():
        raise BadRequest(
            f"archive member {member.name!r} is a link to {member.linkname!r}: links are not accepted, upload the file itself",
            member=member.name,
        )
    if not (member.isfile() or member.isdir()):
        raise BadRequest(
            f"archive member {member.name!r} is a device or FIFO: only regular files and directories are accepted",
            member=member.name,
        )
    if member.mode & PRIVILEGE_BITS:
        raise BadRequest(
            f"archive member {member.name!r} has mode {member.mode:o} with the set-user-ID or set-group-ID bit: "
            "clear it (chmod u-s,g-s) and upload again",
            member=member.name,
        )


def check_archive(archive: BinaryIO, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES) -> int:
    """Check every member of a tar archive (plain or compressed), rewind it and return the member count.

    Raises BadRequest naming the first unsafe member, when the files together
    are larger than ``max_unpacked_bytes`` (a small compressed archive can
    unpack to gigabytes), or when the data is not a tar archive.
    """
    start = archive.tell()
    try:
        with tarfile.open(fileobj=archive, mode="r:*") as tar:
            count = 0
            unpacked = 0
            for member in tar:
                check_member(member)
                count += 1
                unpacked += member.size
                if unpacked > max_unpacked_bytes:
                    raise BadRequest(
                        f"archive unpacks to at least {unpacked} bytes, above the limit of {max_unpacked_bytes} bytes: "
                        "upload fewer or smaller files",
                        unpacked=unpacked,
                        limit=max_unpacked_bytes,
                    )
    except tarfile.TarError as exc:
        raise BadRequest(f"upload is not a valid tar archive ({exc}): send a tar, tar.gz, tar.bz2 or tar.xz file") from exc
    finally:
        archive.seek(start)
    return count


def single_file_tar(name: str, data: bytes | BinaryIO, size: int | None = None, mode: int = 0o644) -> BinaryIO:
    """Return a rewound tar archive holding one regular file called ``name``.

    ``name`` is a plain file name such as ``app.conf``, because the upload
    already names the target directory. ``data`` is bytes, or a readable file
    with ``size`` bytes left. Raises BadRequest for any other name.
    """
    check_member_name(name)
    if "/" in name or name == ".":
        raise BadRequest(
            f"unsafe file name {name!r} in upload: give a plain name without '/' and pass the directory as the path",
            field="filename",
            member=name,
        )
    if isinstance(data, bytes):
        size = len(data)
        data = io.BytesIO(data)
    elif size is None:
        raise ValueError("single_file_tar needs size when data is a file object")

    output = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    with tarfile.open(fileobj=output, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_file_info(name, size, mode), data)
    output.seek(0)
    return output


def files_tar(files: dict[str, bytes], is_directory: Callable[[str], bool]) -> bytes:
    """Return a tar archive to extract at ``/`` that writes each absolute path with its content.

    Missing parent directories get members of their own (mode 755).
    ``is_directory(path)`` tells which exist already: those get no member,
    because extracting one would reset the mode of a directory such as /tmp.
    Raises BadRequest for a path that is relative or contains ``..``.
    """
    buffer = io.BytesIO()
    added: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, content in sorted(files.items()):
            if not path.startswith("/"):
                raise BadRequest(f"file path {path!r} is relative: give an absolute path such as /etc/app.conf")
            name = path.lstrip("/")
            check_member_name(name)
            _add_missing_parents(tar, name, added, is_directory)
            tar.addfile(_file_info(name, len(content), 0o644), io.BytesIO(content))
    return buffer.getvalue()


def _add_missing_parents(
    tar: tarfile.TarFile, name: str, added: set[str], is_directory: Callable[[str], bool]
) -> None:
    parent = posixpath.dirname(name)
    parents = []
    while parent and parent not in added and not is_directory("/" + parent):
        parents.append(parent)
        parent = posixpath.dirname(parent)
    for directory in reversed(parents):
        info = tarfile.TarInfo(directory)
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        info.mtime = int(time.time())
        tar.addfile(info)
        added.add(directory)


def _file_info(name: str, size: int, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.mtime = int(time.time())
    return info
