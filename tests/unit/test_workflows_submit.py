"""Validation in the submit functions and the shape of the canvases they send."""

from __future__ import annotations

import pytest
from celery.canvas import _chain, chord
from test_workflows_fakes import catalog, fake_redis, fake_runtime  # noqa: F401

from csdp.errors import EngineUnavailable, InvalidInput, LimitExceeded, ManifestError, NotFound
from csdp.workflows import canvas, submit
from csdp.workflows.jobs import JobStore

LIMITS = {"max_containers": 30, "max_replicas": 30}


@pytest.fixture
def sent(monkeypatch, fake_redis, fake_runtime, catalog):  # noqa: F811
    """Workflows handed to the broker, instead of sending them."""
    workflows = []
    monkeypatch.setattr(submit, "_send", lambda store, record, workflow: workflows.append(workflow))
    return workflows


@pytest.mark.parametrize("num", [-1, 0, 6, 100000, "3", 2.5, None, True])
def test_start_num_rejected(sent, num):
    with pytest.raises(InvalidInput) as caught:
        submit.submit_start("alice", "light", num, {}, None, None, **LIMITS)
    assert caught.value.field == "num"
    assert caught.value.message == f"num must be an integer from 1 to 5, got {num!r}"
    assert sent == []
    assert JobStore().list_for_owner("alice") == []


def test_start_num_user_limit(sent):
    with pytest.raises(InvalidInput, match="from 1 to 2"):
        submit.submit_start("alice", "light", 3, {}, None, None, max_containers=30, max_replicas=2)


def test_start_container_limit(sent, fake_runtime):  # noqa: F811
    for replica in range(3):
        fake_runtime.add("alice", replica=replica)
    with pytest.raises(LimitExceeded) as caught:
        submit.submit_start("alice", "light", 2, {}, None, None, max_containers=4, max_replicas=5)
    assert caught.value.details == {"limit": 4, "current": 3, "requested": 2}
    assert "limit of 4" in caught.value.message
    assert sent == []


@pytest.mark.parametrize("ttl", [0, 10**9, "60", True])
def test_start_ttl_rejected(sent, ttl):
    with pytest.raises(InvalidInput, match="ttl_seconds must be an integer from 1 to 86400") as caught:
        submit.submit_start("alice", "light", 1, {}, ttl, None, **LIMITS)
    assert caught.value.field == "ttl_seconds"


def test_start_bad_parameter(sent):
    with pytest.raises(InvalidInput) as caught:
        submit.submit_start("alice", "light", 1, {"colour": "red"}, None, None, **LIMITS)
    assert caught.value.field == "parameters.colour"


@pytest.mark.parametrize("email", ["no-at", "a@b@c", "a@b, c@d", "a@b\nBcc: x@y", "@b"])
def test_start_bad_email(sent, email):
    with pytest.raises(InvalidInput) as caught:
        submit.submit_start("alice", "light", 1, {}, None, email, **LIMITS)
    assert caught.value.field == "email"


def test_start_unknown_service(sent):
    with pytest.raises(NotFound, match="'nope' is not in the catalog"):
        submit.submit_start("alice", "nope", 1, {}, None, None, **LIMITS)


def test_start_queued_and_secret_masked(sent):
    record = submit.submit_start("alice", "light", 3, {"password": "s3cret"}, 60, None, **LIMITS)
    assert record.state == "queued"
    assert record.parameters == {"greeting": "hello", "password": "***"}
    assert JobStore().get(record.id) == record

    workflow = sent[0]
    assert isinstance(workflow, chord)
    assert len(workflow.tasks) == 3
    steps = [task.name.rsplit(".", 1)[1] for task in workflow.tasks[0].tasks]
    assert steps == ["create_container", "connect_network", "start_container", "wait_ready", "container_info"]
    # The real secret travels to the create task, never into the record or the printed arguments.
    create = workflow.tasks[0].tasks[0]
    assert create.args[4]["password"] == "s3cret"
    assert "s3cret" not in create.options["argsrepr"]
    assert "'***'" in create.options["argsrepr"]
    assert workflow.body.name.endswith("finish_start")
    assert [errback["task"] for errback in workflow.body.options["link_error"]] == ["csdp.workflows.tasks.fail_job"]


def test_start_dependencies_first(sent):
    submit.submit_start("alice", "frontend", 2, {}, None, None, **LIMITS)
    workflow = sent[0]
    assert isinstance(workflow, _chain)
    first, second = workflow.tasks
    assert first.tasks[0].tasks[0].args[2] == "backend"
    assert first.body.options["link_error"]
    assert [chain.tasks[0].args[2] for chain in second.tasks] == ["frontend", "frontend"]


def test_dependency_cycle(catalog):  # noqa: F811
    from csdp.catalog import Catalog, Service

    looped = {
        name: Service(item.manifest.model_copy(update={"depends_on": [other]}), item.folder)
        for name, other, item in (("backend", "frontend", catalog.get("backend")), ("frontend", "backend", catalog.get("frontend")))
    }
    with pytest.raises(ManifestError, match="frontend -> backend -> frontend"):
        canvas.dependency_order(Catalog(looped), "frontend")


def test_stop_other_owner_not_found(sent, fake_runtime):  # noqa: F811
    theirs = fake_runtime.add("bob")
    with pytest.raises(NotFound, match=theirs.id):
        submit.submit_stop("alice", [theirs.id])
    assert sent == []


def test_delete_all_of_owner(sent, fake_runtime):  # noqa: F811
    mine = [fake_runtime.add("alice", replica=replica).id for replica in range(2)]
    fake_runtime.add("bob")
    record = submit.submit_delete("alice")
    assert record.action == "delete"
    assert record.parameters == {"containers": mine}
    assert [task.args[1] for task in sent[0].tasks] == mine


def test_restart_of_service(sent, fake_runtime):  # noqa: F811
    light = fake_runtime.add("alice")
    fake_runtime.add("alice", service="backend")
    submit.submit_restart("alice", None, service="light")
    assert [task.args[1] for task in sent[0].tasks] == [light.id]


def test_action_checks(sent, fake_runtime):  # noqa: F811
    with pytest.raises(NotFound, match="its actions: echo"):
        submit.submit_action("alice", "light", "nope", None, {})
    with pytest.raises(InvalidInput, match="'value' is required"):
        submit.submit_action("alice", "light", "echo", None, {})
    with pytest.raises(NotFound, match="no containers of service 'light'"):
        submit.submit_action("alice", "light", "echo", None, {"value": "1"})
    container = fake_runtime.add("alice")
    record = submit.submit_action("alice", "light", "echo", None, {"value": "1"})
    assert record.action == "echo"
    assert sent[0].tasks[0].args[:2] == (record.id, container.id)


def test_upload_invalid_removes_staged(sent, fake_runtime, tmp_path):  # noqa: F811
    staged = tmp_path / "staged.tar"
    staged.write_bytes(b"x")
    with pytest.raises(InvalidInput, match="absolute directory"):
        submit.submit_upload("alice", "c1", "relative/dir", staged)
    assert not staged.exists()


def test_upload_queued(sent, fake_runtime, tmp_path):  # noqa: F811
    container = fake_runtime.add("alice")
    staged = tmp_path / "staged.tar"
    staged.write_bytes(b"x")
    record = submit.submit_upload("alice", container.id, "/tmp/", staged)
    assert record.parameters == {"container": container.id, "path": "/tmp"}
    assert staged.exists()
    upload, finish = sent[0].tasks
    assert upload.args == (record.id, container.id, "/tmp", str(staged))
    assert JobStore().context(record.id)["staged"] == [str(staged)]


def test_broker_down_fails_job(fake_redis):  # noqa: F811
    class Unsendable:
        def apply_async(self):
            raise ConnectionRefusedError("connection refused")

    store = JobStore()
    record = store.create("alice", "light", "start")
    with pytest.raises(EngineUnavailable, match="job queue is unavailable"):
        submit._send(store, record, Unsendable())
    assert store.get(record.id).state == "failed"
