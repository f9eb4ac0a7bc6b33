"""Uploads over HTTP: missing directories, unsafe names and members, the size limit."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from api_helpers import sha256, start, succeeded, tar_members, timed

pytestmark = pytest.mark.integration


def tar_with(*members: tuple[str, bytes, str]) -> bytes:
    """Return a tar of (name, type, link target) members; regular files hold b"pwned"."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = target
            info.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
            if kind == tarfile.REGTYPE:
                info.size = 5
                tar.addfile(info, io.BytesIO(b"pwned"))
            else:
                tar.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def container(api_url, worker, make_user):
    _, client = make_user(api_url)
    (info,) = start(client, "syslog")
    return client, info


def test_upload_missing_directory(container, clean_staging):
    client, info = container
    for size in (10, 50 * 1024 * 1024):
        answer, seconds = timed(lambda: client.put(
            f"/containers/{info['id']}/files", params={"path": "/does/not/exist"},
            files={"file": ("data.bin", b"x" * size)}, timeout=30,
        ))
        assert answer.status_code == 404, answer.text
        assert "/does/not/exist" in answer.json()["message"]
        assert answer.json()["field"] == "path"
        assert seconds < 3, f"{size} bytes: the 404 took {seconds:.1f} s"
    assert list(clean_staging.iterdir()) == []

    payload = os.urandom(1024 * 1024)
    succeeded(client, client.put(f"/containers/{info['id']}/files", params={"path": "/tmp"},
                                 files={"file": ("data.bin", payload)}))
    download = client.get(f"/containers/{info['id']}/files", params={"path": "/tmp/data.bin"})
    assert sha256(tar_members(download.content)["data.bin"]) == sha256(payload)


def test_upload_traversal_file_name(container, clean_staging):
    client, info = container
    answer = client.put(f"/containers/{info['id']}/files", params={"path": "/tmp"},
                        files={"file": ("../../etc/cron.d/qa", b"* * * * * root touch /tmp/pwned\n")})
    assert answer.status_code == 400
    assert "../../etc/cron.d/qa" in answer.json()["message"]
    assert not Path("/etc/cron.d/qa").exists()
    assert list(clean_staging.iterdir()) == []


@pytest.mark.parametrize(
    "members",
    [
        [("../../../../tmp/pwned", tarfile.REGTYPE, "")],
        [("etc", tarfile.SYMTYPE, "/etc"), ("etc/pwned", tarfile.REGTYPE, "")],
    ],
    ids=["dotdot", "symlink"],
)
def test_upload_traversal_tar_member(container, clean_staging, members):
    client, info = container
    answer = client.put(f"/containers/{info['id']}/files", params={"path": "/tmp", "extract": True},
                        files={"file": ("evil.tar", tar_with(*members))})
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_request"
    assert not Path("/tmp/pwned").exists()
    assert not Path("/etc/pwned").exists()
    assert list(clean_staging.iterdir()) == []
    listing = client.post(f"/containers/{info['id']}/exec", json={"command": ["ls", "-a", "/tmp", "/etc/pwned"]})
    assert "pwned" not in listing.json()["stdout"]


def test_download_symlink_stays_in_container(container):
    client, info = container
    made = client.post(f"/containers/{info['id']}/exec", json={"command": ["ln", "-s", "/etc", "/tmp/etclink"]})
    assert made.json()["exit_code"] == 0
    download = client.get(f"/containers/{info['id']}/files", params={"path": "/tmp/"})
    assert download.status_code == 200
    members = tar_members(download.content)
    assert members["tmp/etclink"] == "link:/etc"
    # Nothing under the link was followed onto the host or into the container's /etc.
    assert not any(name.startswith("tmp/etclink/") for name in members)


def test_upload_past_limit(container, clean_staging, api_env):
    client, info = container
    limit = int(api_env["CSDP_MAX_UPLOAD_BYTES"])
    answer = client.put(f"/containers/{info['id']}/files", params={"path": "/tmp"},
                        files={"file": ("big.bin", b"x" * (limit + 1))}, timeout=60)
    assert answer.status_code == 413
    assert str(limit) in answer.json()["message"]
    assert list(clean_staging.iterdir()) == []


def test_upload_tar_extract(container):
    client, info = container
    archive = tar_with(("conf", tarfile.DIRTYPE, ""), ("conf/app.conf", tarfile.REGTYPE, ""))
    succeeded(client, client.put(f"/containers/{info['id']}/files", params={"path": "/tmp", "extract": True},
                                 files={"file": ("conf.tar", archive)}))
    read = client.post(f"/containers/{info['id']}/exec", json={"command": ["cat", "/tmp/conf/app.conf"]})
    assert read.json()["stdout"] == "pwned", read.json()
