"""Uploads: streamed into the staging folder, checked names and members, size limit, cleanup."""

from __future__ import annotations

import io
import tarfile

import pytest
from fastapi.testclient import TestClient

from api_fakes import ALICE, TOKENS, FakeJobStore, FakeRuntime, FakeSubmit, auth, make_info
from csdp.api import create_app, deps
from csdp.runtime.base import ExecResult
from csdp.settings import Settings

LIMIT = 1024 * 1024


@pytest.fixture
def fakes(tmp_path):
    runtime = FakeRuntime()
    runtime.add(make_info("a1", "alice"))
    store = FakeJobStore()
    submit = FakeSubmit(store, runtime)
    staging = tmp_path / "staging"
    settings = Settings(staging_dir=staging, max_upload_bytes=LIMIT)
    app = create_app()
    app.dependency_overrides.update({
        deps.get_runtime: lambda: runtime,
        deps.get_job_store: lambda: store,
        deps.get_submit: lambda: submit,
        deps.get_settings: lambda: settings,
        deps.get_authenticator: lambda: TOKENS.get,
    })
    return TestClient(app, raise_server_exceptions=False), runtime, submit, staging


def tar_of(*members: tarfile.TarInfo, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return buffer.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


def staged_files(staging) -> list:
    return sorted(staging.iterdir()) if staging.exists() else []


def test_upload_plain_file(fakes):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp/", files={"file": ("qa.conf", b"0123456789")},
                        headers=auth(ALICE))
    assert answer.status_code == 202
    assert submit.calls == [("upload", "alice", "a1", "/tmp")]
    staged = submit.staged[0]
    assert staged.parent == staging
    with tarfile.open(staged) as tar:
        assert tar.getnames() == ["qa.conf"]
        assert tar.extractfile("qa.conf").read() == b"0123456789"
    # Only the archive the worker will send remains.
    assert staged_files(staging) == [staged]


def test_upload_tar_extract(fakes):
    client, _, submit, staging = fakes
    archive = tar_of(member("dir", tarfile.DIRTYPE), member("dir/app.conf"))
    answer = client.put("/api/v1/containers/a1/files?path=/tmp&extract=true", files={"file": ("a.tar", archive)},
                        headers=auth(ALICE))
    assert answer.status_code == 202
    with tarfile.open(submit.staged[0]) as tar:
        assert tar.getnames() == ["dir", "dir/app.conf"]


def test_upload_missing_directory(fakes):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/does/not/exist", files={"file": ("x", b"0123456789")},
                        headers=auth(ALICE))
    assert answer.status_code == 404
    assert answer.json()["field"] == "path"
    assert "/does/not/exist" in answer.json()["message"]
    assert submit.calls == []
    assert staged_files(staging) == []


def test_upload_onto_file(fakes, monkeypatch):
    client, runtime, submit, staging = fakes
    # /etc/hostname exists but is a file: ``test -d`` fails and ``test -e`` passes.
    monkeypatch.setattr(runtime, "exec", lambda container_id, command, **kwargs: ExecResult(int(command[1] == "-d"), b"", b""))
    answer = client.put("/api/v1/containers/a1/files?path=/etc/hostname", files={"file": ("x", b"0123456789")},
                        headers=auth(ALICE))
    assert answer.status_code == 400
    assert answer.json()["message"] == "'/etc/hostname' in container a1 is not a directory; give the directory the file goes into"
    assert submit.calls == []


@pytest.mark.parametrize("path", ["/dev/shm", "/dev", "/proc", "/sys", "/proc/sys/kernel"])
def test_upload_into_mount(fakes, path):
    client, _, submit, staging = fakes
    answer = client.put(f"/api/v1/containers/a1/files?path={path}", files={"file": ("x", b"0123456789")},
                        headers=auth(ALICE))
    assert answer.status_code == 400
    assert answer.json()["message"].startswith(f"cannot upload into {path}: ")
    assert answer.json()["field"] == "path"
    assert submit.calls == []
    assert staged_files(staging) == []


@pytest.mark.parametrize("name", ["../../etc/cron.d/qa", "/etc/passwd", "a/b", "..", "a\\b", ""])
def test_upload_unsafe_file_name(fakes, name):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", files={"file": (name, b"* * * * * root id")},
                        headers=auth(ALICE))
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_request"
    assert submit.calls == []
    assert staged_files(staging) == []


@pytest.mark.parametrize(
    "members",
    [
        [member("../../../../tmp/pwned")],
        [member("/etc/pwned")],
        [member("etc", tarfile.SYMTYPE, "/etc")],
        [member("ok.txt"), member("hard", tarfile.LNKTYPE, "/etc/shadow")],
        [member("dev", tarfile.CHRTYPE)],
    ],
)
def test_upload_unsafe_tar_member(fakes, members):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp&extract=true", files={"file": ("a.tar", tar_of(*members))},
                        headers=auth(ALICE))
    assert answer.status_code == 400
    assert submit.calls == []
    assert staged_files(staging) == []


def test_upload_not_a_tar(fakes):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp&extract=true", files={"file": ("a.tar", b"plain text")},
                        headers=auth(ALICE))
    assert answer.status_code == 400
    assert "tar" in answer.json()["message"]
    assert staged_files(staging) == []


def test_upload_past_limit(fakes):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", files={"file": ("big", b"x" * (LIMIT + 1))},
                        headers=auth(ALICE))
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    assert str(LIMIT) in answer.json()["message"]
    assert submit.calls == []
    assert staged_files(staging) == []


def test_upload_past_limit_without_length(fakes):
    client, _, submit, staging = fakes
    boundary = "b0undary"
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big"\r\n\r\n'.encode()

    def body():
        yield head
        for _ in range(LIMIT // 65536 + 2):
            yield b"x" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    answer = client.put("/api/v1/containers/a1/files?path=/tmp", content=body(),
                        headers={**auth(ALICE), "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert answer.status_code == 413
    assert staged_files(staging) == []


def test_upload_exactly_at_limit(fakes):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", files={"file": ("big", b"x" * LIMIT)},
                        headers=auth(ALICE))
    assert answer.status_code == 202


def test_upload_without_file_field(fakes):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", files={"other": ("x", b"1")}, headers=auth(ALICE))
    assert answer.status_code == 400
    assert "'file'" in answer.json()["message"]
    assert staged_files(staging) == []


def test_upload_not_multipart(fakes):
    client, _, submit, staging = fakes
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", content=b"raw", headers=auth(ALICE))
    assert answer.status_code == 400
    assert "multipart/form-data" in answer.json()["message"]


def test_upload_submit_fails_removes_staged(fakes):
    client, _, submit, staging = fakes

    def broker_down(*args, **kwargs):
        from csdp.errors import EngineUnavailable

        raise EngineUnavailable("the job queue is unavailable; try again in a minute")

    submit.submit_upload = broker_down
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", files={"file": ("x", b"1")}, headers=auth(ALICE))
    assert answer.status_code == 503
    assert staged_files(staging) == []


def test_upload_stopped_container_checks_stat(fakes):
    client, runtime, submit, staging = fakes
    from csdp.errors import Conflict

    def cannot_exec(*args, **kwargs):
        raise Conflict("container a1 is not running")

    runtime.exec = cannot_exec
    ok = client.put("/api/v1/containers/a1/files?path=/tmp", files={"file": ("x", b"1")}, headers=auth(ALICE))
    assert ok.status_code == 202
    missing = client.put("/api/v1/containers/a1/files?path=/nope", files={"file": ("x", b"1")}, headers=auth(ALICE))
    assert missing.status_code == 404


def test_upload_malformed_multipart(fakes):
    client, _, submit, staging = fakes
    body = b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\ndata\r\n--b0undary-X"
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", content=body,
                        headers={**auth(ALICE), "Content-Type": "multipart/form-data; boundary=b0undary"})
    assert answer.status_code == 400
    assert submit.calls == []
    assert staged_files(staging) == []


def test_upload_onto_file_stopped(fakes):
    client, runtime, submit, staging = fakes
    from csdp.errors import Conflict

    def cannot_exec(*args, **kwargs):
        raise Conflict("container a1 is not running")

    runtime.exec = cannot_exec
    runtime.files["a1"] = {"/etc/hostname"}
    answer = client.put("/api/v1/containers/a1/files?path=/etc/hostname", files={"file": ("x", b"1")}, headers=auth(ALICE))
    assert answer.status_code == 400
    assert "is not a directory" in answer.json()["message"]
