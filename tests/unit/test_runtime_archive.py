"""Archive checks: unsafe names, links and devices are rejected with BadRequest."""

from __future__ import annotations

import io
import tarfile

import pytest

from csdp.errors import BadRequest
from csdp.runtime.archive import check_archive, check_member_name, files_tar, single_file_tar


def _tar(*members: tarfile.TarInfo, compression: str = "") -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    buffer.seek(0)
    return buffer


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", size: int = 1) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = size if kind == tarfile.REGTYPE else 0
    return info


def test_archive_safe_members_pass():
    archive = _tar(_member("./", tarfile.DIRTYPE), _member("./conf/app.conf"), _member("data.bin"))

    assert check_archive(archive) == 3
    assert archive.tell() == 0


def test_archive_compressed_passes():
    assert check_archive(_tar(_member("a.txt"), compression="gz")) == 1


@pytest.mark.parametrize(
    "member",
    [
        _member("../../../../tmp/pwned"),
        _member("a/../../b"),
        _member("/etc/passwd"),
        _member("etc", tarfile.SYMTYPE, "/etc"),
        _member("rel-link", tarfile.SYMTYPE, "a.txt"),
        _member("hard", tarfile.LNKTYPE, "/etc/shadow"),
        _member("dev-null", tarfile.CHRTYPE),
        _member("disk", tarfile.BLKTYPE),
        _member("pipe", tarfile.FIFOTYPE),
    ],
    ids=lambda member: member.name,
)
def test_archive_unsafe_member_rejected(member):
    archive = _tar(_member("ok.txt"), member)

    with pytest.raises(BadRequest) as caught:
        check_archive(archive)

    assert repr(member.name) in caught.value.message
    assert caught.value.details["member"] == member.name
    assert archive.tell() == 0


def test_archive_not_a_tar():
    with pytest.raises(BadRequest, match="not a valid tar archive"):
        check_archive(io.BytesIO(b"plain text, not a tar"))


@pytest.mark.parametrize("name", ["../../etc/cron.d/qa", "..", "/etc/passwd", "a/b.txt", ".", "", "a\\b", "a\x00b"])
def test_single_file_unsafe_name(name):
    with pytest.raises(BadRequest):
        single_file_tar(name, b"data")


def test_single_file_content():
    archive = single_file_tar("app.conf", b"key=value\n")

    with tarfile.open(fileobj=archive) as tar:
        members = tar.getmembers()
        content = tar.extractfile(members[0]).read()

    assert [member.name for member in members] == ["app.conf"]
    assert members[0].isfile()
    assert content == b"key=value\n"


def test_single_file_from_stream():
    archive = single_file_tar("big.bin", io.BytesIO(b"abc" * 1000), size=3000)

    assert check_archive(archive) == 1


def test_single_file_stream_needs_size():
    with pytest.raises(ValueError, match="size"):
        single_file_tar("big.bin", io.BytesIO(b"abc"))


def test_files_tar_adds_missing_parents_only():
    existing = {"/", "/etc", "/tmp"}

    data = files_tar({"/etc/app/app.conf": b"a", "/tmp/x": b"b", "/opt/new/deep/c": b"c"}, existing.__contains__)

    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {member.name: member for member in tar.getmembers()}
    assert sorted(members) == ["etc/app", "etc/app/app.conf", "opt", "opt/new", "opt/new/deep", "opt/new/deep/c", "tmp/x"]
    assert members["opt/new"].isdir()
    assert "tmp" not in members


@pytest.mark.parametrize("path", ["relative/path", "/etc/../../x"])
def test_files_tar_rejects_bad_path(path):
    with pytest.raises(BadRequest):
        files_tar({path: b"x"}, lambda directory: True)


def test_member_name_dot_prefix_ok():
    check_member_name("./a/b.txt")


def test_archive_unpacked_size_limit():
    # Zeros compress about a thousand to one, as in an archive bomb.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in ("a.bin", "b.bin"):
            tar.addfile(_member(name, size=3 * 1024 * 1024), io.BytesIO(bytes(3 * 1024 * 1024)))
    buffer.seek(0)
    assert len(buffer.getvalue()) < 64 * 1024

    with pytest.raises(BadRequest) as caught:
        check_archive(buffer, max_unpacked_bytes=5 * 1024 * 1024)
    assert caught.value.message == (
        "archive unpacks to at least 6291456 bytes, above the limit of 5242880 bytes: upload fewer or smaller files"
    )
    assert buffer.tell() == 0
    assert check_archive(buffer, max_unpacked_bytes=6 * 1024 * 1024) == 2


@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o6700])
def test_archive_setuid_rejected(mode):
    member = _member("tool")
    member.mode = mode
    with pytest.raises(BadRequest, match="set-user-ID or set-group-ID") as caught:
        check_archive(_tar(member))
    assert f"mode {mode:o}" in caught.value.message
