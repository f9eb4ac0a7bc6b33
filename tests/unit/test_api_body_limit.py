"""The request body limit: 413 before auth and before the body is held, uploads exempt."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api_fakes import ALICE, TOKENS, FakeJobStore, FakeRuntime, FakeSubmit, auth, make_info
from csdp.api import create_app, deps
from csdp.settings import Settings, get_settings

LIMIT = 4096


@pytest.fixture
def limited(tmp_path, monkeypatch):
    monkeypatch.setenv("CSDP_MAX_REQUEST_BYTES", str(LIMIT))
    get_settings.cache_clear()
    runtime = FakeRuntime()
    runtime.add(make_info("a1", "alice"))
    store = FakeJobStore()
    submit = FakeSubmit(store, runtime)
    settings = Settings(staging_dir=tmp_path / "staging", max_upload_bytes=10 * LIMIT)
    app = create_app()
    app.dependency_overrides.update({
        deps.get_runtime: lambda: runtime,
        deps.get_job_store: lambda: store,
        deps.get_submit: lambda: submit,
        deps.get_settings: lambda: settings,
        deps.get_authenticator: lambda: TOKENS.get,
    })
    yield TestClient(app, raise_server_exceptions=False), submit
    get_settings.cache_clear()


def big_body(size: int) -> bytes:
    return b'{"num": 1, "parameters": {"x": "' + b"a" * size + b'"}}'


def assert_too_large(answer) -> None:
    assert answer.status_code == 413
    body = answer.json()
    assert body["code"] == "payload_too_large"
    assert f"limit of {LIMIT} bytes" in body["message"]
    assert "CSDP_MAX_REQUEST_BYTES" in body["message"]
    assert body["details"] == {"limit": "max_request_bytes", "value": LIMIT}


def test_content_length_above_limit_without_token(limited):
    client, submit = limited
    answer = client.post("/api/v1/services/syslog/start", content=big_body(LIMIT),
                         headers={"Content-Type": "application/json"})
    assert_too_large(answer)


def test_content_length_above_limit_with_token(limited):
    client, submit = limited
    answer = client.post("/api/v1/services/syslog/start", content=big_body(LIMIT),
                         headers={**auth(ALICE), "Content-Type": "application/json"})
    assert_too_large(answer)
    assert submit.calls == []


def test_chunked_body_counted(limited):
    client, submit = limited

    def chunks():
        body = big_body(3 * LIMIT)
        for start in range(0, len(body), 1000):
            yield body[start:start + 1000]

    answer = client.post("/api/v1/services/syslog/start", content=chunks(),
                         headers={**auth(ALICE), "Content-Type": "application/json"})
    assert "content-length" not in answer.request.headers
    assert_too_large(answer)
    assert submit.calls == []


def test_chunked_body_under_limit(limited):
    client, submit = limited
    answer = client.post("/api/v1/services/syslog/start", content=iter([b'{"num": ', b"1}"]),
                         headers={**auth(ALICE), "Content-Type": "application/json"})
    assert answer.status_code == 202
    assert submit.calls == [("start", "alice", "syslog", 1)]


def test_body_at_limit_accepted(limited):
    client, submit = limited
    body = big_body(0)
    body = body[:-3] + b" " * (LIMIT - len(body)) + body[-3:]
    assert len(body) == LIMIT
    answer = client.post("/api/v1/services/syslog/start", content=body,
                         headers={**auth(ALICE), "Content-Type": "application/json"})
    # The fake submit ignores parameters, so a body that passes the limit is accepted.
    assert answer.status_code == 202


def test_upload_route_exempt(limited):
    client, submit = limited
    files = {"file": ("big.bin", b"x" * (2 * LIMIT))}
    answer = client.put("/api/v1/containers/a1/files?path=/tmp", files=files, headers=auth(ALICE))
    assert answer.status_code == 202
    assert submit.calls[0][:3] == ("upload", "alice", "a1")
