"""Uploads and downloads: missing directories, checksums, unsafe archives, links."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import time

import pytest

from csdp.errors import BadRequest, NotFound
from csdp.runtime.archive import single_file_tar

pytestmark = pytest.mark.integration


def _download(runtime, container_id: str, path: str) -> tarfile.TarFile:
    stream, _ = runtime.get_files(container_id, path)
    return tarfile.open(fileobj=io.BytesIO(b"".join(stream)))


@pytest.mark.parametrize("size", [10, 50 * 1024 * 1024])
def test_upload_missing_directory(runtime, running, size):
    started = time.monotonic()

    with pytest.raises(NotFound) as caught:
        runtime.put_files(running.id, "/does/not/exist", single_file_tar("data.bin", b"x" * size))

    assert time.monotonic() - started < 3
    assert "/does/not/exist" in caught.value.message
    assert caught.value.details["path"] == "/does/not/exist"


def test_upload_onto_file(runtime, running):
    with pytest.raises(BadRequest) as caught:
        runtime.put_files(running.id, "/etc/hostname", single_file_tar("data.bin", b"x"))

    assert caught.value.status == 400
    assert caught.value.message.startswith("/etc/hostname in container ")
    assert "is not a directory" in caught.value.message


@pytest.mark.parametrize("directory", ["/dev/shm", "/dev", "/proc", "/sys", "/proc/sys/kernel", "/dev/shm/../shm/"])
def test_upload_into_mount_rejected(runtime, running, directory):
    with pytest.raises(BadRequest) as caught:
        runtime.put_files(running.id, directory, single_file_tar("data.bin", b"x"))

    assert caught.value.status == 400
    assert caught.value.message.startswith(f"cannot upload into {directory}: ")
    assert caught.value.details["path"] == directory


def test_upload_through_link_into_mount(runtime, running):
    assert runtime.exec(running.id, ["ln", "-s", "/dev/shm", "/tmp/shm-link"], timeout=10).exit_code == 0
    with pytest.raises(BadRequest, match="cannot upload into /dev/shm"):
        runtime.put_files(running.id, "/tmp/shm-link", single_file_tar("data.bin", b"x"))


def test_upload_download_checksum(runtime, running):
    data = os.urandom(3 * 1024 * 1024 + 17)

    runtime.put_files(running.id, "/tmp", single_file_tar("blob.bin", data))
    with _download(runtime, running.id, "/tmp/blob.bin") as tar:
        member = tar.getmember("blob.bin")
        downloaded = tar.extractfile(member).read()

    assert hashlib.sha256(downloaded).hexdigest() == hashlib.sha256(data).hexdigest()


def test_upload_through_symlinked_directory(runtime, running):
    runtime.exec(running.id, ["sh", "-c", "mkdir /srv/real && ln -s /srv/real /srv/link"], timeout=10)

    runtime.put_files(running.id, "/srv/link", single_file_tar("a.txt", b"a"))

    assert runtime.exec(running.id, ["cat", "/srv/real/a.txt"], timeout=10).stdout == b"a"


def test_upload_tar_with_traversal(runtime, running):
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("../../../../tmp/pwned")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"pwned"))
    archive.seek(0)

    with pytest.raises(BadRequest) as caught:
        runtime.put_files(running.id, "/tmp", archive)

    assert "../../../../tmp/pwned" in caught.value.message
    assert not os.path.exists("/tmp/pwned")
    assert runtime.exec(running.id, ["test", "-e", "/tmp/pwned"], timeout=10).exit_code == 1


def test_upload_tar_with_symlink(runtime, running):
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("etc")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc"
        tar.addfile(info)
    archive.seek(0)

    with pytest.raises(BadRequest) as caught:
        runtime.put_files(running.id, "/tmp", archive)

    assert "'etc'" in caught.value.message
    assert runtime.exec(running.id, ["test", "-e", "/tmp/etc"], timeout=10).exit_code == 1


def test_upload_unsafe_file_name():
    with pytest.raises(BadRequest) as caught:
        single_file_tar("../../etc/cron.d/qa", b"* * * * * root true\n")

    assert "../../etc/cron.d/qa" in caught.value.message


def test_download_symlink_to_etc(runtime, running):
    runtime.exec(running.id, ["ln", "-s", "/etc", "/tmp/etclink"], timeout=10)

    with _download(runtime, running.id, "/tmp/") as tar:
        members = {member.name: member for member in tar.getmembers()}

    link = members["tmp/etclink"]
    assert link.issym()
    assert link.linkname == "/etc"
    assert not any(name.startswith("tmp/etclink/") for name in members)


def test_download_missing_path(runtime, running):
    with pytest.raises(NotFound) as caught:
        runtime.get_files(running.id, "/no/such/file")

    assert "/no/such/file" in caught.value.message


def test_download_stat(runtime, running):
    _, stat = runtime.get_files(running.id, "/etc/hostname")

    assert stat["name"] == "hostname"
    assert stat["size"] > 0


def test_upload_missing_container(runtime):
    with pytest.raises(NotFound) as caught:
        runtime.put_files("csdp-no-such-container", "/tmp", single_file_tar("a", b"a"))

    assert "csdp-no-such-container" in caught.value.message
