"""Users and tokens in Redis, and the admin routes."""

from __future__ import annotations

import fakeredis
import pytest
from fastapi.testclient import TestClient

from api_fakes import FakeJobStore, FakeRuntime, FakeSubmit, make_info
from csdp.api import create_app, deps
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


@pytest.fixture
def admin_app(redis_client):
    """The app with real users in fake Redis, and a fake runtime and submit for the containers of removed users."""
    runtime = FakeRuntime()
    submit = FakeSubmit(FakeJobStore(), runtime)
    app = create_app()
    app.dependency_overrides.update({deps.get_runtime: lambda: runtime, deps.get_submit: lambda: submit})
    return TestClient(app, raise_server_exceptions=False), runtime, submit


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_routes(admin_app):
    client, *_ = admin_app
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


@pytest.mark.parametrize("value", ["yes", 1, "true", None])
def test_add_user_admin_must_be_boolean(admin_app, value):
    client, *_ = admin_app
    _, root = users.add_user("root", admin=True)
    answer = client.post("/api/v1/admin/users", json={"name": "x", "admin": value}, headers=bearer(root))
    assert answer.status_code == 422
    assert answer.json()["field"] == "admin"
    with pytest.raises(NotFound):
        users.get_user("x")


def test_remove_user_deletes_its_containers(admin_app):
    client, runtime, submit = admin_app
    _, root = users.add_user("root", admin=True)
    users.add_user("alice")
    runtime.add(make_info("a1", "alice"))
    runtime.add(make_info("a2", "alice", service="webhook"))
    runtime.add(make_info("r1", "root"))

    answer = client.delete("/api/v1/admin/users/alice", headers=bearer(root))
    assert answer.status_code == 202
    assert answer.json()["job_id"]
    assert submit.calls == [("delete", "alice", ["a1", "a2"], None)]
    with pytest.raises(NotFound):
        users.get_user("alice")


def test_remove_user_without_containers(admin_app):
    client, runtime, submit = admin_app
    _, root = users.add_user("root", admin=True)
    users.add_user("alice")
    answer = client.delete("/api/v1/admin/users/alice", headers=bearer(root))
    assert answer.status_code == 204
    assert submit.calls == []


def test_remove_missing_user_is_404(admin_app):
    client, _, submit = admin_app
    _, root = users.add_user("root", admin=True)
    answer = client.delete("/api/v1/admin/users/ghost", headers=bearer(root))
    assert answer.status_code == 404
    assert "csdp admin user list" in answer.json()["message"]
    assert submit.calls == []


def test_only_admin_cannot_remove_itself(admin_app):
    client, runtime, submit = admin_app
    _, root = users.add_user("root", admin=True)
    runtime.add(make_info("r1", "root"))
    answer = client.delete("/api/v1/admin/users/root", headers=bearer(root))
    assert answer.status_code == 409
    assert "only admin" in answer.json()["message"]
    assert users.get_user("root").admin is True
    assert submit.calls == []


def test_admin_removes_itself_with_another_admin(admin_app):
    client, _, _ = admin_app
    _, root = users.add_user("root", admin=True)
    users.add_user("second", admin=True)
    assert client.delete("/api/v1/admin/users/root", headers=bearer(root)).status_code == 204
    with pytest.raises(NotFound):
        users.get_user("root")


def test_messages_name_existing_commands(redis_client):
    users.add_user("alice")
    with pytest.raises(Conflict) as taken:
        users.add_user("alice")
    assert "'csdp admin user rotate-token alice'" in taken.value.message
    with pytest.raises(NotFound) as missing:
        users.rotate_token("ghost")
    assert "'csdp admin user list'" in missing.value.message


def test_revoked_token_message_names_command(admin_app):
    client, *_ = admin_app
    answer = client.get("/api/v1/containers", headers=bearer("revoked"))
    assert answer.status_code == 401
    assert "'csdp admin user rotate-token NAME'" in answer.json()["message"]
