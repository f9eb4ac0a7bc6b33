"""Access over HTTP: another user's container gets the same 404 as a missing one, on every route."""

from __future__ import annotations

import pytest

from api_helpers import start

pytestmark = pytest.mark.integration

MISSING_ID = "0" * 64

CONTAINER_ROUTES = [
    ("GET", "/containers/{id}", None, None),
    ("POST", "/containers/{id}/stop", None, None),
    ("POST", "/containers/{id}/restart", None, None),
    ("DELETE", "/containers/{id}", None, None),
    ("GET", "/containers/{id}/logs", None, None),
    ("GET", "/containers/{id}/logs?follow=true", None, None),
    ("POST", "/containers/{id}/logs/clear", None, None),
    ("GET", "/containers/{id}/files?path=/etc/hostname", None, None),
    ("PUT", "/containers/{id}/files?path=/tmp", None, {"file": ("x.txt", b"0123456789")}),
    ("POST", "/containers/{id}/exec", {"command": ["id"]}, None),
    ("POST", "/containers/{id}/exec", {"command": ["id"], "stream": True}, None),
    ("POST", "/services/syslog/stop", {"container": "{id}"}, None),
    ("POST", "/services/syslog/restart", {"container": "{id}"}, None),
    ("POST", "/services/syslog/delete", {"container": "{id}"}, None),
]


def call(client, method: str, path: str, body, files, container_id: str):
    json_body = None
    if body is not None:
        json_body = {key: value.replace("{id}", container_id) if isinstance(value, str) else value for key, value in body.items()}
    return client.request(method, path.replace("{id}", container_id), json=json_body, files=files)


def test_other_users_containers_look_missing(api_url, worker, make_user):
    alice_name, alice = make_user(api_url)
    _, bob = make_user(api_url)
    (container,) = start(alice, "syslog")

    for method, path, body, files in CONTAINER_ROUTES:
        foreign = call(bob, method, path, body, files, container["id"])
        missing = call(bob, method, path, body, files, MISSING_ID)
        assert foreign.status_code == 404, (method, path, foreign.text)
        assert missing.status_code == 404, (method, path, missing.text)
        assert foreign.json() == {**missing.json(), "message": missing.json()["message"].replace(MISSING_ID, container["id"])}

    assert bob.get("/containers").json() == []
    assert bob.get("/jobs").json() == []
    shown = alice.get(f"/containers/{container['id']}")
    assert shown.json()["status"] == "running"
    assert shown.json()["owner"] == alice_name
    assert len(alice.get("/jobs").json()) == 1


def test_admin_sees_and_manages_all(api_url, worker, make_user):
    alice_name, alice = make_user(api_url)
    _, root = make_user(api_url, admin=True)
    (container,) = start(alice, "syslog")
    assert root.get(f"/containers/{container['id']}").status_code == 200
    everyone = root.get("/containers", params={"all_users": True}).json()
    assert container["id"] in [item["id"] for item in everyone]
    assert alice.get("/containers", params={"all_users": True}).status_code == 403
    assert [item["id"] for item in root.get("/containers", params={"owner": alice_name}).json()] == [container["id"]]


def test_without_token(api_url, worker):
    import httpx

    answer = httpx.get(f"{api_url}/api/v1/containers", timeout=10)
    assert answer.status_code == 401
    assert "Authorization: Bearer" in answer.json()["message"]
