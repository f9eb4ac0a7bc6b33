"""A real API server: readiness needs a worker, bodies have a size limit, and odd ids are plain 404s."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

# The default of CSDP_MAX_REQUEST_BYTES.
REQUEST_LIMIT = 1024 * 1024


def test_ready_without_worker(api_url):
    answer = httpx.get(f"{api_url}/api/v1/ready", timeout=30)
    assert answer.status_code == 503
    body = answer.json()
    assert "worker down" in body["message"]
    assert "csdp server worker" in body["message"]
    assert body["details"]["checks"]["worker"].startswith("down")
    assert body["details"]["checks"]["redis"] == "ok"


def test_ready_with_worker(api_url, worker):
    answer = httpx.get(f"{api_url}/api/v1/ready", timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["checks"]["worker"] == "1 consumer(s)"


def test_health_head(api_url):
    answer = httpx.head(f"{api_url}/api/v1/health", timeout=5)
    assert answer.status_code == 200


def test_large_body_without_token_is_413(api_url):
    body = b'{"num": 1, "x": "' + b"a" * (2 * REQUEST_LIMIT) + b'"}'
    answer = httpx.post(f"{api_url}/api/v1/services/syslog/start", content=body,
                        headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    assert answer.json()["details"] == {"limit": "max_request_bytes", "value": REQUEST_LIMIT}


def test_large_chunked_body_is_413(api_url, make_user):
    _, client = make_user(api_url)

    def chunks():
        yield b'{"num": 1, "x": "'
        for _ in range(3 * 16):
            yield b"a" * (64 * 1024)
        yield b'"}'

    answer = client.post("/services/syslog/start", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["code"] == "payload_too_large"
    assert client.get("/jobs").json() == []


def test_short_container_prefixes_are_404(api_url, make_user):
    _, client = make_user(api_url)
    missing = client.get("/containers/nosuchcontainer").json()
    for character in "0123456789abcdef":
        answer = client.get(f"/containers/{character}")
        assert answer.status_code == 404, answer.text
        assert answer.json() == {**missing, "message": missing["message"].replace("nosuchcontainer", character)}


def test_job_key_suffix_is_404(api_url, make_user):
    from csdp.workflows.jobs import JobStore

    name, client = make_user(api_url)
    store = JobStore()
    record = store.create(name, "syslog", "start")
    try:
        assert client.get(f"/jobs/{record.id}").status_code == 200
        assert client.get(f"/jobs/{record.id[:12]}").json()["id"] == record.id
        for suffix in (":context", ":final"):
            answer = client.get(f"/jobs/{record.id}{suffix}")
            assert answer.status_code == 404, answer.text
            assert answer.json()["field"] == "job_id"
    finally:
        store.client.delete(f"csdp:job:{record.id}", f"csdp:job:{record.id}:context", f"csdp:jobs:{name}")
