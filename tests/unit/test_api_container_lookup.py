"""Container references: full id, unique prefix or name, looked up only among the caller's containers."""

from __future__ import annotations

import pytest
from test_api_routes import fakes  # noqa: F401

from api_fakes import ALICE, BOB, ROOT, auth, make_info

ALICE_ID = "c0ffee" + "a" * 58
BOB_ID = "c0ffee" + "b" * 58


@pytest.fixture
def two_owners(fakes):  # noqa: F811
    client, runtime, store, submit, settings = fakes
    runtime.add(make_info(ALICE_ID, "alice"))
    runtime.add(make_info(BOB_ID, "bob"))
    return client, runtime, submit


@pytest.mark.parametrize("route", ["stop", "restart", "delete"])
def test_empty_container_rejected(fakes, route):  # noqa: F811
    client, runtime, _, submit, _ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post(f"/api/v1/services/syslog/{route}", json={"container": ""}, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "container"
    assert submit.calls == []


def test_empty_container_rejected_by_action(fakes):  # noqa: F811
    client, runtime, _, submit, _ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post("/api/v1/services/syslog/actions/count", json={"container": ""}, headers=auth(ALICE))
    assert answer.status_code == 422
    assert answer.json()["field"] == "container"
    assert submit.calls == []


@pytest.mark.parametrize("body", [{}, {"container": None}])
def test_absent_or_null_container_means_all(fakes, body):  # noqa: F811
    client, runtime, _, submit, _ = fakes
    runtime.add(make_info("a1", "alice"))
    answer = client.post("/api/v1/services/syslog/delete", json=body, headers=auth(ALICE))
    assert answer.status_code == 202
    assert submit.calls == [("delete", "alice", None, "syslog")]


def test_prefix_shared_with_others_is_own(two_owners):
    client, _, _ = two_owners
    answer = client.get("/api/v1/containers/c0ffee", headers=auth(BOB))
    assert answer.status_code == 200
    assert answer.json()["id"] == BOB_ID


def test_short_prefix_is_plain_404(two_owners):
    client, _, _ = two_owners
    short = client.get("/api/v1/containers/c", headers=auth(BOB))
    missing = client.get("/api/v1/containers/zzzzzz", headers=auth(BOB))
    assert short.status_code == 404
    assert short.json() == {**missing.json(), "message": missing.json()["message"].replace("zzzzzz", "c")}


def test_others_name_and_prefix_look_missing(two_owners):
    client, runtime, submit = two_owners
    by_name = client.post("/api/v1/containers/" + runtime.info(ALICE_ID).name + "/stop", headers=auth(BOB))
    by_prefix = client.post("/api/v1/containers/c0ffeeaa/stop", headers=auth(BOB))
    assert by_name.status_code == 404
    assert by_prefix.status_code == 404
    assert by_prefix.json()["message"] == "container 'c0ffeeaa' not found; list your containers with GET /api/v1/containers"
    assert submit.calls == []


def test_own_container_by_name(two_owners):
    client, runtime, submit = two_owners
    name = runtime.info(ALICE_ID).name
    answer = client.post("/api/v1/services/syslog/stop", json={"container": name}, headers=auth(ALICE))
    assert answer.status_code == 202
    assert submit.calls == [("stop", "alice", [ALICE_ID], "syslog")]


def test_ambiguous_own_prefix_is_409(fakes):  # noqa: F811
    client, runtime, _, submit, _ = fakes
    runtime.add(make_info("c0ffee" + "1" * 58, "alice"))
    runtime.add(make_info("c0ffee" + "2" * 58, "alice"))
    answer = client.delete("/api/v1/containers/c0ffee", headers=auth(ALICE))
    assert answer.status_code == 409
    assert answer.json()["field"] == "container"
    assert "matches 2 of your containers" in answer.json()["message"]
    assert "more characters" in answer.json()["message"]
    assert submit.calls == []


def test_admin_prefix_among_all(two_owners):
    client, _, _ = two_owners
    assert client.get("/api/v1/containers/c0ffeeb", headers=auth(ROOT)).json()["owner"] == "bob"
    assert client.get("/api/v1/containers/c0ffee", headers=auth(ROOT)).status_code == 409


def test_list_unknown_service_is_404(fakes):  # noqa: F811
    client, *_ = fakes
    answer = client.get("/api/v1/containers?service=nosuch", headers=auth(ALICE))
    assert answer.status_code == 404
    assert answer.json()["field"] == "service"
    assert "known services: syslog" in answer.json()["message"]
    assert client.get("/api/v1/containers?service=syslog", headers=auth(ALICE)).status_code == 200
