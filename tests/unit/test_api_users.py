"""Users and tokens in Redis, and the admin routes."""

from __future__ import annotations

import fakeredis
import pytest
from fastapi.testclient import TestClient

from csdp.api import create_app
from csdp.errors import Conflict, InvalidInput, NotFound
from csdp.settings import get_settings
from csdp.workflows import users


@pytest.fixture
def redis_client(monkeypatch):
    client = fakeredis.FakeRedis(decode_responses=True)
    monkeypatch.setattr(users, "_default_client", lambda: client)
    return client


def test_add_and_authenticate(redis_client):
    user, token = users.add_user("qa.alice@lab")
    assert user.name == "qa.alice@lab"
    assert user.admin is False
    assert user.max_containers == get_settings().max_containers_per_user
    assert user.max_replicas_per_request == get_settings().max_replicas_per_request
    assert users.authenticate(token).name == "qa.alice@lab"
    assert users.authenticate(token + "x") is None
    assert users.authenticate("") is None


def test_token_stored_only_as_hash(redis_client):
    _, token = users.add_user("alice")
    stored = "".join(f"{key}={redis_client.get(key)}" for key in redis_client.keys("*"))
    assert token not in stored
    assert redis_client.get(f"csdp:token:{users.hash_token(token)}") == "alice"


def test_duplicate_name_conflict(redis_client):
    users.add_user("alice")
    with pytest.raises(Conflict) as error:
        users.add_user("alice", admin=True)
    assert "alice" in error.value.message
    assert users.get_user("alice").admin is False


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "semi;colon", "slash/x", "ünïcode", "new\nline"])
def test_invalid_name(redis_client, name):
    with pytest.raises(InvalidInput) as error:
        users.add_user(name)
    assert error.value.field == "name"
    assert "1 to 64" in error.value.message


def test_name_of_64_chars(redis_client):
    user, _ = users.add_user("a" * 64)
    assert user.name == "a" * 64


def test_rotate_token(redis_client):
    _, old = users.add_user("alice")
    new = users.rotate_token("alice")
    assert users.authenticate(old) is None
    assert users.authenticate(new).name == "alice"
    assert len(redis_client.keys("csdp:token:*")) == 1


def test_remove_user(redis_client):
    _, token = users.add_user("alice")
    users.remove_user("alice")
    assert users.authenticate(token) is None
    assert redis_client.keys("*") == []
    with pytest.raises(NotFound):
        users.get_user("alice")
    with pytest.raises(NotFound):
        users.remove_user("alice")


def test_list_users_sorted(redis_client):
    for name in ("carol", "alice", "bob"):
        users.add_user(name)
    assert [user.name for user in users.list_users()] == ["alice", "bob", "carol"]


def test_own_limits(redis_client):
    users.add_user("alice", max_containers=2, max_replicas_per_request=1)
    assert users.get_user("alice").max_containers == 2
    updated = users.set_limits("alice", max_replicas_per_request=4)
    assert updated.max_replicas_per_request == 4
    assert updated.max_containers == get_settings().max_containers_per_user
    with pytest.raises(InvalidInput):
        users.set_limits("alice", max_containers=0)


def test_admin_routes(redis_client):
    client = TestClient(create_app(), raise_server_exceptions=False)
    _, root = users.add_user("root", admin=True)
    _, alice = users.add_user("alice")

    created = client.post("/api/v1/admin/users", json={"name": "bob"}, headers={"Authorization": f"Bearer {root}"})
    assert created.status_code == 201
    assert created.json()["name"] == "bob"
    assert users.authenticate(created.json()["token"]).name == "bob"

    again = client.post("/api/v1/admin/users", json={"name": "bob"}, headers={"Authorization": f"Bearer {root}"})
    assert again.status_code == 409
    bad = client.post("/api/v1/admin/users", json={"name": "b b"}, headers={"Authorization": f"Bearer {root}"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "name"

    forbidden = client.post("/api/v1/admin/users", json={"name": "eve"}, headers={"Authorization": f"Bearer {alice}"})
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"

    listed = client.get("/api/v1/admin/users", headers={"Authorization": f"Bearer {root}"}).json()
    assert [user["name"] for user in listed] == ["alice", "bob", "root"]
    assert all("token" not in user for user in listed)

    rotated = client.post("/api/v1/admin/users/alice/token", headers={"Authorization": f"Bearer {root}"})
    assert rotated.status_code == 200
    assert users.authenticate(alice) is None

    removed = client.delete("/api/v1/admin/users/bob", headers={"Authorization": f"Bearer {root}"})
    assert removed.status_code == 204
