"""Directories an upload may not go into, because the engine would write beneath a mount.

The engine extracts an archive into the container's own filesystem layer. A
path under a tmpfs or kernel file system mounted in the container (``/dev``
with ``/dev/shm``, ``/proc``, ``/sys``) then reports success, but the files
land beneath the mount where processes in the container cannot read them.
"""

from __future__ import annotations

import posixpath

from csdp.errors import BadRequest

MOUNTED_ROOTS = {
    "/dev": "the container's /dev is a tmpfs mounted by the engine",
    "/proc": "/proc is the kernel's process file system",
    "/sys": "/sys is the kernel's sysfs",
}


def check_upload_target(directory: str) -> None:
    """Raise BadRequest naming ``directory`` when an upload into it would not be visible in the container."""
    path = posixpath.normpath("/" + directory.lstrip("/"))
    for root, reason in MOUNTED_ROOTS.items():
        if path == root or path.startswith(root + "/"):
            raise BadRequest(
                f"cannot upload into {directory}: {reason}, so uploaded files would not be visible there; "
                "upload into a directory such as /tmp",
                field="path",
                path=directory,
            )
