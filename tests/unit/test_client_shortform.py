"""The short form ``from csdp import microservices`` and the Client, against a fake API."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_client_http import FakeApi, Reply, fake_api  # noqa: F401  (fixture)

from csdp.client.client import Client
from csdp.client.errors import JobFailed
from csdp.client.shortform import CONTAINER_KEYS, Microservices

CONTAINER = {
    "id": "c" * 64,
    "name": "csdp-syslog-alice-1a2b-job1-1",
    "service": "syslog",
    "owner": "alice",
    "job_id": "job1",
    "replica": 1,
    "ip_address": "10.213.0.5",
    "ipv6_address": "fd5c:5d9e:1::5",
    "service_port": 514,
    "ports": [{"port": 514, "protocol": "udp", "description": "syslog"}],
    "status": "running",
    "created": "2026-12-04T20:00:00+00:00",
    "expires_at": None,
}


def job(state: str, **extra):
    return {"id": "job1", "owner": "alice", "service": "syslog", "action": "start", "state": state, **extra}


def sse(*records) -> list[bytes]:
    return [f"event: job\ndata: {json.dumps(item)}\n\n".encode() for item in records]


def accept_job(fake_api: FakeApi, method: str, path: str, final: dict) -> None:
    accepted = {
        "job_id": "job1",
        "state": "queued",
        "status_url": "/api/v1/jobs/job1",
        "events_url": "/api/v1/jobs/job1/events",
    }
    fake_api.route(method, path, Reply(202, accepted))
    fake_api.route("GET", "/jobs/job1", job("queued"))
    fake_api.route(
        "GET",
        "/jobs/job1/events",
        lambda request: Reply(content_type="text/event-stream", stream=sse(job("running"), final)),
    )


@pytest.fixture
def micro(fake_api):
    return Microservices(Client(fake_api.url, "token"))


def test_start_service_returns_containers(fake_api, micro):
    accept_job(fake_api, "POST", "/services/syslog/start", job("succeeded", result={"containers": [CONTAINER]}))

    result = micro.syslog.start_service(num=2, port=1514)

    assert list(result) == ["containers"]
    assert result["containers"][0] == {key: CONTAINER[key] for key in CONTAINER_KEYS}
    assert fake_api.calls("POST", "/services/syslog/start")[0].json() == {"num": 2, "parameters": {"port": 1514}}


def test_start_service_failure_raises(fake_api, micro):
    error = {"code": "step_failed", "message": "readiness timed out", "details": {"step": "wait_ready", "replica": 1}}
    accept_job(fake_api, "POST", "/services/syslog/start", job("failed", error=error))

    with pytest.raises(JobFailed) as caught:
        micro.syslog.start_service(num=1)

    assert caught.value.step == "wait_ready"
    assert caught.value.reason == "readiness timed out"


def test_show_returns_containers(fake_api, micro):
    fake_api.route("GET", "/containers", [CONTAINER])

    result = micro.syslog.show()

    assert result["containers"][0]["ip_address"] == "10.213.0.5"
    assert fake_api.calls("GET", "/containers")[0].query == {"service": "syslog"}


def test_all_delete_returns_success(fake_api, micro):
    accept_job(fake_api, "DELETE", "/containers", job("succeeded", result={"result": "success", "containers": ["c1"]}))

    assert micro.all.delete_service() == {"result": "success"}


def test_delete_service_targets_container(fake_api, micro):
    accept_job(
        fake_api,
        "POST",
        "/services/syslog/delete",
        job("succeeded", result={"result": "success", "containers": ["c1"]}),
    )

    assert micro.syslog.delete_service(container="c1")["result"] == "success"
    assert fake_api.calls("POST", "/services/syslog/delete")[0].json() == {"container": "c1"}


def test_action_as_method(fake_api, micro):
    outputs = {"outputs": [{"container": "c1", "exit_code": 0, "output": "[]"}]}
    accept_job(fake_api, "POST", "/services/webhook/actions/requests", job("succeeded", result=outputs))

    assert micro.webhook.requests(limit=5) == outputs
    body = fake_api.calls("POST", "/services/webhook/actions/requests")[0].json()
    assert body == {"container": None, "parameters": {"limit": 5}}


def test_client_upload_sends_multipart(fake_api, tmp_path):
    local = tmp_path / "trap.conf"
    local.write_bytes(b"x" * 10)
    accept_job(fake_api, "PUT", "/containers/c1/files", job("succeeded", result={}))

    job_id = Client(fake_api.url, "token").upload("c1", local, "/tmp")

    request = fake_api.calls("PUT", "/containers/c1/files")[0]
    assert job_id == "job1"
    assert request.query == {"path": "/tmp"}
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert b'filename="trap.conf"' in request.body
    assert b"x" * 10 in request.body


def test_microservices_is_lazy():
    code = (
        "import sys, csdp; assert 'csdp.client' not in sys.modules; "
        "from csdp import microservices; print(type(microservices).__name__)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "Microservices"


def test_client_imports_no_server_modules():
    code = (
        "import sys, csdp.client.client, csdp.client.shortform, csdp.cli.main, csdp.cli.service_commands; "
        "heavy = ('pydantic', 'docker', 'celery', 'fastapi', 'redis', 'uvicorn', 'pika', "
        "'csdp.runtime', 'csdp.workflows', 'csdp.api', 'csdp.settings', 'csdp.catalog'); "
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
