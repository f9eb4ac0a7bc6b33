"""The httpmock service: configured routes, delays, recorded requests and uploaded routes."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from catalog_helpers import assert_removed_cleanly, run_action, upload

pytestmark = pytest.mark.integration

ROUTES = [
    {"method": "GET", "path": "/api/items", "status": 201, "headers": {"X-Mock": "items"}, "body": {"items": [1, 2]}},
    {"method": "POST", "path": "/api/slow/*", "status": 503, "delay_ms": 800, "body": "busy"},
    {"path": "/any", "body": "any method"},
]


def url_of(address: str, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}{path}"


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """Return status, headers and body of one request; an HTTP error status is returned, not raised."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def recorded(runtime, catalog, container_id: str) -> list[dict]:
    result = run_action(runtime, catalog, "httpmock", container_id, "requests")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_httpmock_configured_route(start_service, runtime, engine, owner):
    info = start_service("httpmock", {"routes": json.dumps(ROUTES)})

    status, headers, body = call(url_of(info.ip_address, "/api/items?page=2"))
    any_status, _, any_body = call(url_of(info.ipv6_address, "/any"), method="DELETE")

    assert status == 201
    assert headers["X-Mock"] == "items"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"items": [1, 2]}
    assert any_status == 200
    assert any_body == b"any method"
    assert_removed_cleanly(runtime, engine, info.id, owner)


def test_httpmock_unknown_route(start_service):
    info = start_service("httpmock", {"routes": json.dumps(ROUTES)})

    status, headers, body = call(url_of(info.ip_address, "/api/items"), method="PUT", body=b"x")

    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "no route matched", "method": "PUT", "path": "/api/items"}


def test_httpmock_delay(start_service):
    info = start_service("httpmock", {"routes": json.dumps(ROUTES)})

    started = time.monotonic()
    status, _, body = call(url_of(info.ip_address, "/api/slow/report"), method="POST", body=b"{}")
    elapsed = time.monotonic() - started

    assert status == 503
    assert body == b"busy"
    assert elapsed >= 0.8


def test_httpmock_requests_action(start_service, runtime, catalog):
    info = start_service("httpmock", {"routes": json.dumps(ROUTES)})
    call(url_of(info.ip_address, "/api/items?page=2"), headers={"X-Request-Id": "r-1"})
    call(url_of(info.ip_address, "/nowhere"), method="POST", body=b'{"a": 1}', headers={"Content-Type": "application/json"})

    first, second = recorded(runtime, catalog, info.id)
    cleared = run_action(runtime, catalog, "httpmock", info.id, "clear_requests")

    assert first["method"] == "GET"
    assert first["path"] == "/api/items"
    assert first["query"] == "page=2"
    assert ["X-Request-Id", "r-1"] in first["headers"]
    assert first["route"] == 0
    assert first["status"] == 201
    assert first["client"] == info.ip_address.rsplit(".", 1)[0] + ".1"
    assert second["method"] == "POST"
    assert second["body"] == '{"a": 1}'
    assert second["route"] is None
    assert second["status"] == 404
    assert cleared.exit_code == 0
    assert recorded(runtime, catalog, info.id) == []


def test_httpmock_uploaded_routes(start_service, runtime, catalog):
    before_start = [{"method": "GET", "path": "/from-file", "status": 202, "body": "file v1"}]
    info = start_service("httpmock", uploads={"/etc/httpmock": {"routes.json": json.dumps(before_start).encode()}})

    first = call(url_of(info.ip_address, "/from-file"))
    upload(runtime, info.id, "/etc/httpmock", {"routes.json": json.dumps([{"path": "/from-file", "status": 418, "body": "file v2"}]).encode()})
    reloaded = run_action(runtime, catalog, "httpmock", info.id, "reload")
    second = call(url_of(info.ip_address, "/from-file"))
    upload(runtime, info.id, "/etc/httpmock", {"routes.json": b'[{"path": "/x", "status": 1000}]'})
    rejected = run_action(runtime, catalog, "httpmock", info.id, "reload")
    third = call(url_of(info.ip_address, "/from-file"))
    in_force = run_action(runtime, catalog, "httpmock", info.id, "routes")

    assert first[0] == 202
    assert first[2] == b"file v1"
    assert reloaded.exit_code == 0, reloaded.stderr
    assert second[0] == 418
    assert second[2] == b"file v2"
    assert rejected.exit_code == 1
    assert b"status 1000 must be an integer from 100 to 599" in rejected.stderr
    assert third[0] == 418
    assert [route["status"] for route in json.loads(in_force.stdout)] == [418]
