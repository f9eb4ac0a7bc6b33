"""Routes of the API with a fake runtime, job store and submit functions."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api_fakes import ALICE, BOB, ROOT, TOKENS, FakeJobStore, FakeRuntime, FakeSubmit, auth, log_lines, make_info
from csdp.api import create_app
from csdp.api import deps
from csdp.api.routes import health
from csdp.catalog import Catalog, Manifest, Service
from csdp.catalog.manifest import Action, Limits, Port
from csdp.runtime.base import ExecResult
from csdp.settings import Settings


def make_catalog(tmp_path) -> Catalog:
    syslog = Manifest(
        name="syslog",
        summary="Syslog server",
        ports=[Port(port=514, protocol="udp", description="syslog")],
        limits=Limits(max_replicas=10),
        actions=[Action(name="count", help="Count messages", command=["wc", "-l", "/var/log/messages"])],
    )
    return Catalog({"syslog": Service(syslog, tmp_path)})


@pytest.fixture
def fakes(tmp_path):
    runtime = FakeRuntime()
    store = FakeJobStore()
    submit = FakeSubmit(store, runtime)
    settings = Settings(staging_dir=tmp_path / "staging", max_upload_bytes=1024 * 1024)
    app = create_app()
    app.dependency_overrides.update({
        deps.get_runtime: lambda: runtime,
        deps.get_job_store: lambda: store,
        deps.get_submit: lambda: submit,
        deps.get_catalog: lambda: make_catalog(tmp_path),
        deps.get_settings: lambda: settings,
        deps.get_authenticator: lambda: TOKENS.get,
        health.get_readiness_checks: lambda: {"redis": lambda: "ok", "engine": runtime.ping},
    })
    client = TestClient(app, raise_server_exceptions=False)
    return client, runtime, store, submit, settings


def test_health_needs_no_token(fakes):
    client, *_ = fakes
    answer = client.get("/api/v1/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_ready_names_the_dependency_down(fakes):
    client, *_ = fakes

    def broker_down() -> str:
        raise ConnectionRefusedError("connection refused")

    client.app.dependency_overrides[health.get_readiness_checks] = lambda: {"redis": lambda: "ok", "broker": broker_down}
    answer = client.get("/api/v1/ready")
    assert answer.status_code == 503
    assert "broker" in answer.json()["message"]
    assert "redis" not in answer.json()["message"]
    assert answer.json()["details"]["checks"]["redis"] == "ok"


def test_ready_all_up(fakes):
    client, *_ = fakes
    answer = client.get("/api/v1/ready")
    assert answer.status_code == 200
    assert answer.json()["checks"] == {"redis": "ok", "engine": "20.10.24"}


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc"])
def test_auth_missing_or_invalid(fakes, header):
    client, *_ = fakes
    answer = client.get("/api/v1/containers", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert "Bearer" in answer.json()["message"] or "token" in answer.json()["message"]
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_services_list_and_show(fakes):
    client, *_ = fakes
    listed = client.get("/api/v1/services", headers=auth(ALICE))
    assert listed.status_code == 200
    assert [service["name"] for service in listed.json()] == ["syslog"]
    shown = client.get("/api/v1/services/syslog", headers=auth(ALICE))
    assert shown.json()["actions"][0]["name"] == "count"
    missing = client.get("/api/v1/services/nope", headers=auth(ALICE))
    assert missing.status_code == 404
    assert "nope" in missing.json()["message"]


def test_start_accepted(fakes):
    client, _, store, submit, _ = fakes
    answer = client.post("/api/v1/services/syslog/start", json={"num": 3}, headers=auth(ALICE))
    assert answer.status_code == 202
    body = answer.json()
    assert body["state"] == "queued"
    assert body["status_url"] == f"http://testserver/api/v1/jobs/{body['job_id']}"
    assert body["events_url"].endswith(f"/api/v1/jobs/{body['job_id']}/events")
    assert submit.calls == [("start", "alice", "syslog", 3)]


@pytest.mark.parametrize("body", [{"num": "3"}, {"num": 2.5}, {"num": None}, {}, {"num": True}, None])
def test_start_num_wrong_type(fakes, body):
    client, _, store, submit, _ = fakes
    if body is None:
        answer = client.post("/api/v1/services/syslog/start", headers=auth(ALICE))
    else:
        answer = client.post("/api/v1/services/syslog/start", json=body, headers=auth(ALICE))
    assert answer.status_code == 422
    error = answer.json()
    assert error["code"] == "invalid_input"
    assert error["field"] == "num"
    # The smaller of the service limit (10) and Alice's limit (3).
    assert "from 1 to 3" in error["message"]
    assert submit.calls == []
    assert store.records == {}


@pytest.mark.parametrize("num", [-1, 0, 100000])
def test_start_num_out_of_range(fakes, num):
    client, _, store, _, _ = fakes
    answer = client.post("/api/v1/services/syslog/start", json={"num": num}, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "num"
    assert "from 1 to 3" in answer.json()["message"]
    assert store.records == {}


def test_start_body_not_json(fakes):
    client, *_ = fakes
    answer = client.post("/api/v1/services/syslog/start", content=b'{"num": 3',
                         headers={**auth(ALICE), "Content-Type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "body"
    assert "not valid JSON" in answer.json()["message"]


def test_start_unknown_service_is_404_before_body(fakes):
    client, *_ = fakes
    answer = client.post("/api/v1/services/nope/start", json={"num": "x"}, headers=auth(ALICE))
    assert answer.status_code == 404


def test_start_past_container_limit(fakes):
    client, runtime, *_ = fakes
    for index in range(4):
        runtime.add(make_info(f"c{index}", "alice"))
    answer = client.post("/api/v1/services/syslog/start", json={"num": 2}, headers=auth(ALICE))
    assert answer.status_code == 429
    assert answer.json()["code"] == "limit_exceeded"
    assert answer.json()["details"] == {"limit": 5, "current": 4}


def test_start_unknown_body_field(fakes):
    client, *_ = fakes
    answer = client.post("/api/v1/services/syslog/start", json={"num": 1, "replicas": 2}, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "replicas"


def test_containers_list_own_only(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    runtime.add(make_info("b1", "bob"))
    mine = client.get("/api/v1/containers", headers=auth(ALICE)).json()
    assert [item["id"] for item in mine] == ["a1"]
    assert client.get("/api/v1/containers?all_users=true", headers=auth(ALICE)).status_code == 403
    everyone = client.get("/api/v1/containers?all_users=true", headers=auth(ROOT)).json()
    assert sorted(item["id"] for item in everyone) == ["a1", "b1"]
    bobs = client.get("/api/v1/containers?owner=bob", headers=auth(ROOT)).json()
    assert [item["id"] for item in bobs] == ["b1"]


CONTAINER_ROUTES = [
    ("get", "/api/v1/containers/{id}", None),
    ("post", "/api/v1/containers/{id}/stop", None),
    ("post", "/api/v1/containers/{id}/restart", None),
    ("delete", "/api/v1/containers/{id}", None),
    ("get", "/api/v1/containers/{id}/logs", None),
    ("post", "/api/v1/containers/{id}/logs/clear", None),
    ("get", "/api/v1/containers/{id}/files?path=/tmp", None),
    ("post", "/api/v1/containers/{id}/exec", {"command": ["id"]}),
    ("post", "/api/v1/services/syslog/stop", {"container": "{id}"}),
    ("post", "/api/v1/services/syslog/restart", {"container": "{id}"}),
    ("post", "/api/v1/services/syslog/delete", {"container": "{id}"}),
    ("post", "/api/v1/services/syslog/actions/count", {"container": "{id}"}),
]


@pytest.mark.parametrize("method,path,body", CONTAINER_ROUTES)
def test_other_users_container_looks_missing(fakes, method, path, body):
    client, runtime, store, submit, _ = fakes
    runtime.add(make_info("a1", "alice"))

    def call(container_id: str):
        payload = json.loads(json.dumps(body).replace("{id}", container_id)) if body else None
        return client.request(method, path.replace("{id}", container_id), json=payload, headers=auth(BOB))

    foreign, missing = call("a1"), call("zz")
    assert foreign.status_code == 404
    assert missing.status_code == 404
    assert foreign.json() == {**missing.json(), "message": missing.json()["message"].replace("zz", "a1")}
    assert submit.calls == []
    assert runtime.cleared == []


def test_upload_other_users_container_looks_missing(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    files = {"file": ("x.txt", b"0123456789")}
    foreign = client.put("/api/v1/containers/a1/files?path=/tmp", files=files, headers=auth(BOB))
    missing = client.put("/api/v1/containers/zz/files?path=/tmp", files=files, headers=auth(BOB))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["message"] == missing.json()["message"].replace("zz", "a1")


def test_admin_manages_any_container(fakes):
    client, runtime, _, submit, _ = fakes
    runtime.add(make_info("a1", "alice"))
    assert client.get("/api/v1/containers/a1", headers=auth(ROOT)).status_code == 200
    answer = client.post("/api/v1/containers/a1/stop", headers=auth(ROOT))
    assert answer.status_code == 202
    # The job is made for the owner of the container.
    assert submit.calls == [("stop", "alice", ["a1"], None)]


def test_unowned_container_hidden_from_admin(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("infra", ""))
    answer = client.get("/api/v1/containers/infra", headers=auth(ROOT))
    assert answer.status_code == 404
    assert client.post("/api/v1/containers/infra/exec", json={"command": ["id"]}, headers=auth(ROOT)).status_code == 404


def test_container_jobs_accepted(fakes):
    client, runtime, _, submit, _ = fakes
    runtime.add(make_info("a1", "alice"))
    assert client.post("/api/v1/containers/a1/restart", headers=auth(ALICE)).status_code == 202
    assert client.delete("/api/v1/containers/a1", headers=auth(ALICE)).status_code == 202
    assert client.delete("/api/v1/containers", headers=auth(ALICE)).status_code == 202
    assert client.post("/api/v1/services/syslog/stop", json={}, headers=auth(ALICE)).status_code == 202
    assert submit.calls == [
        ("restart", "alice", ["a1"], None),
        ("delete", "alice", ["a1"], None),
        ("delete", "alice", None, None),
        ("stop", "alice", None, "syslog"),
    ]


def test_action_accepted(fakes):
    client, runtime, _, submit, _ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post("/api/v1/services/syslog/actions/count", json={}, headers=auth(ALICE))
    assert answer.status_code == 202
    assert submit.calls == [("action", "alice", "syslog", "count", None)]


def test_logs_ndjson_with_end_event(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    runtime.log_lines = log_lines()
    answer = client.get("/api/v1/containers/a1/logs?follow=true", headers=auth(ALICE))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines[0] == {"stream": "stdout", "timestamp": "2026-01-01T00:00:00+00:00", "text": "hello"}
    assert lines[1]["stream"] == "stderr"
    assert lines[-1] == {"event": "end", "status": "exited", "exit_code": 0}
    assert runtime.closed_streams == 1


def test_logs_clear(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post("/api/v1/containers/a1/logs/clear", headers=auth(ALICE))
    assert answer.status_code == 204
    assert runtime.cleared == ["a1"]


def test_exec_buffered(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post("/api/v1/containers/a1/exec", json={"command": ["sh", "-c", "exit 3"]}, headers=auth(ALICE))
    assert answer.status_code == 200
    assert answer.json() == {"exit_code": 3, "stdout": "out\n", "stderr": "err\n", "timed_out": False, "truncated": False}


def test_exec_truncated(fakes, monkeypatch):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    monkeypatch.setattr(runtime, "exec", lambda *args, **kwargs: ExecResult(0, b"x" * 10, b"", truncated=True))
    answer = client.post("/api/v1/containers/a1/exec", json={"command": ["cat", "big"]}, headers=auth(ALICE))
    assert answer.json()["truncated"] is True


def test_exec_streamed(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post("/api/v1/containers/a1/exec", json={"command": ["x"], "stream": True}, headers=auth(ALICE))
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert lines == [
        {"stream": "stdout", "data": "out\n"},
        {"stream": "stderr", "data": "err\n"},
        {"event": "exit", "exit_code": 3, "timed_out": False},
    ]


def test_exec_timeout_out_of_range(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post("/api/v1/containers/a1/exec", json={"command": ["x"], "timeout_seconds": 0}, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "timeout_seconds"
    assert "greater than or equal to 1" in answer.json()["message"]


def test_download_streams_tar(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.get("/api/v1/containers/a1/files?path=/tmp", headers=auth(ALICE))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-tar"
    assert b"hello" in answer.content


def test_download_relative_path(fakes):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.get("/api/v1/containers/a1/files?path=tmp", headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "path"


def test_jobs_list_show_and_hide_others(fakes):
    client, _, store, *_ = fakes
    mine = store.create("alice", "syslog", "start")
    theirs = store.create("bob", "syslog", "start")
    assert [job["id"] for job in client.get("/api/v1/jobs", headers=auth(ALICE)).json()] == [mine.id]
    assert client.get(f"/api/v1/jobs/{mine.id}", headers=auth(ALICE)).json()["owner"] == "alice"
    foreign = client.get(f"/api/v1/jobs/{theirs.id}", headers=auth(ALICE))
    missing = client.get("/api/v1/jobs/nope", headers=auth(ALICE))
    assert foreign.status_code == missing.status_code == 404
    assert client.get(f"/api/v1/jobs/{theirs.id}", headers=auth(ROOT)).status_code == 200


def test_job_events_until_terminal(fakes):
    client, _, store, *_ = fakes
    record = store.create("alice", "syslog", "start")
    store.records[record.id] = record.model_copy(update={"state": "succeeded", "result": {"containers": []}})
    answer = client.get(f"/api/v1/jobs/{record.id}/events", headers=auth(ALICE))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [block for block in answer.text.split("\n\n") if block]
    assert len(events) == 1
    assert events[0].startswith("event: job\ndata: ")
    assert json.loads(events[0].split("data: ", 1)[1])["state"] == "succeeded"


def test_unexpected_error_is_generic_500(fakes, caplog):
    client, runtime, *_ = fakes

    def broken(**kwargs):
        raise RuntimeError("secret detail")

    runtime.list = broken
    with caplog.at_level("ERROR"):
        answer = client.get("/api/v1/containers", headers=auth(ALICE))
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_error"
    assert "secret detail" not in answer.text
    assert any("secret detail" in record.exc_text for record in caplog.records if record.exc_text)


def test_unknown_route_is_error_body(fakes):
    client, *_ = fakes
    answer = client.get("/api/v1/nothing")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_openapi_is_3_1_with_every_route(fakes):
    client, *_ = fakes
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/containers/{container_id}/files" in schema["paths"]
    assert "/api/v1/jobs/{job_id}/events" in schema["paths"]


def test_docs_page_is_served_locally(fakes):
    client, *_ = fakes
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/api/v1/static/docs/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/api/v1/static/docs/swagger-ui-bundle.js").status_code == 200


def test_health_and_ready_answer_head(fakes):
    client, *_ = fakes
    health_head = client.head("/api/v1/health")
    assert health_head.status_code == 200
    assert health_head.content == b""
    assert client.head("/api/v1/ready").status_code == 200


def test_ready_without_worker_names_it(fakes):
    client, *_ = fakes

    def no_worker() -> str:
        raise health.NoWorker("no worker consumes the queue 'realtime', so jobs would wait in it; "
                              "start one with 'csdp server worker'")

    client.app.dependency_overrides[health.get_readiness_checks] = lambda: {"redis": lambda: "ok", "worker": no_worker}
    answer = client.get("/api/v1/ready")
    assert answer.status_code == 503
    assert "worker down: no worker consumes the queue 'realtime'" in answer.json()["message"]
    assert "csdp server worker" in answer.json()["message"]
    assert answer.json()["details"]["checks"]["redis"] == "ok"


def test_readiness_checks_include_worker():
    assert list(health.get_readiness_checks()) == ["redis", "broker", "worker", "engine"]


@pytest.mark.parametrize("route,body", [
    ("/api/v1/services/syslog/start", {"num": 1, "email": "qa@example.com"}),
    ("/api/v1/services/syslog/actions/count", {"email": "qa@example.com"}),
])
def test_email_without_smtp_rejected(fakes, route, body):
    client, _, store, submit, settings = fakes
    assert settings.smtp_host is None
    answer = client.post(route, json=body, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "email"
    assert "no SMTP server configured (CSDP_SMTP_HOST)" in answer.json()["message"]
    assert submit.calls == []


@pytest.mark.parametrize("email", ["a@b.c\nBcc: x@y.z", "a b@c.d", "a@b@c", "nobody"])
def test_email_shape_checked(fakes, email):
    client, _, _, submit, settings = fakes
    client.app.dependency_overrides[deps.get_settings] = lambda: settings.model_copy(update={"smtp_host": "127.0.0.1"})
    answer = client.post("/api/v1/services/syslog/start", json={"num": 1, "email": email}, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "email"
    assert "one address" in answer.json()["message"]
    assert submit.calls == []


def test_email_with_smtp_accepted(fakes):
    client, _, _, submit, settings = fakes
    client.app.dependency_overrides[deps.get_settings] = lambda: settings.model_copy(update={"smtp_host": "127.0.0.1"})
    answer = client.post("/api/v1/services/syslog/start", json={"num": 1, "email": "qa@example.com"}, headers=auth(ALICE))
    assert answer.status_code == 202


@pytest.mark.parametrize("body", [{"num": "3"}, {"num": True}, {"num": None}, {}])
def test_start_num_error_carries_range(fakes, body):
    client, *_ = fakes
    answer = client.post("/api/v1/services/syslog/start", json=body, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["details"]["minimum"] == 1
    assert answer.json()["details"]["maximum"] == 3


@pytest.mark.parametrize("stream", [False, True])
def test_exec_bad_environment_name(fakes, stream):
    client, runtime, *_ = fakes
    runtime.add(make_info("a1", "alice"))
    body = {"command": ["env"], "environment": {"A=B": "1"}, "stream": stream}
    answer = client.post("/api/v1/containers/a1/exec", json=body, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["message"].startswith("environment variable name 'A=B' is not valid")
    assert runtime.execs == []
