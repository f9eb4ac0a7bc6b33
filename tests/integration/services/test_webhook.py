"""The webhook service: requests are recorded and the requests and clear actions work."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

from service_testing import wait_for_output

pytestmark = pytest.mark.integration


def url_of(address: str, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}{path}"


def post(url: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def run_action(runtime, catalog, container_id: str, name: str):
    action = catalog.get("webhook").manifest.action(name)
    return runtime.exec(container_id, list(action.command), timeout=action.timeout_seconds)


def test_webhook_records_request(runtime, catalog, start_service):
    [info] = start_service("webhook")

    status, answer = post(
        url_of(info.ip_address, "/alerts/new?source=qa&flag="),
        b'{"alert": "disk full"}',
        {"Content-Type": "application/json", "X-Request-Id": "abc-123"},
    )

    assert status == 200
    assert answer["status"] == "recorded"
    result = run_action(runtime, catalog, info.id, "requests")
    assert result.exit_code == 0
    [record] = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert record["method"] == "POST"
    assert record["path"] == "/alerts/new"
    assert record["query"] == {"source": ["qa"], "flag": [""]}
    assert record["headers"]["X-Request-Id"] == "abc-123"
    assert record["body"] == '{"alert": "disk full"}'
    assert record["body_encoding"] == "text"
    assert "abc-123" in wait_for_output(runtime, info.id, "abc-123")


def test_webhook_binary_body_ipv6(runtime, catalog, start_service):
    [info] = start_service("webhook")
    body = bytes(range(256))

    status, _ = post(url_of(info.ipv6_address, "/binary"), body, {"Content-Type": "application/octet-stream"})

    assert status == 200
    result = run_action(runtime, catalog, info.id, "requests")
    [record] = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert record["body_encoding"] == "base64"
    assert base64.b64decode(record["body"]) == body


def test_webhook_clear_action(runtime, catalog, start_service):
    [info] = start_service("webhook")
    post(url_of(info.ip_address, "/one"), b"1")

    cleared = run_action(runtime, catalog, info.id, "clear")
    post(url_of(info.ip_address, "/two"), b"2")
    result = run_action(runtime, catalog, info.id, "requests")

    assert cleared.exit_code == 0
    paths = [json.loads(line)["path"] for line in result.stdout.decode().splitlines()]
    assert paths == ["/two"]


def test_webhook_status_code_parameter(runtime, catalog, start_service):
    [info] = start_service("webhook", parameters={"status_code": 503})

    status, answer = post(url_of(info.ip_address, "/fail"), b"x")

    assert status == 503
    assert answer["status"] == "recorded"
    assert "/fail" in run_action(runtime, catalog, info.id, "requests").stdout.decode()


def test_webhook_no_content_status(runtime, start_service):
    [info] = start_service("webhook", parameters={"status_code": 204})
    request = urllib.request.Request(url_of(info.ip_address, "/empty"), data=b"x", method="POST")

    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 204
        assert response.headers.get("Content-Length") is None
        assert response.read() == b""
