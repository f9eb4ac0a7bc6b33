"""The step frame and the tasks built on it, with a fake runtime and a fake Redis."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.exceptions import Ignore, Retry
from test_workflows_fakes import catalog, fake_redis, fake_runtime, published  # noqa: F401

from csdp.errors import BadRequest, EngineUnavailable, NotFound, StepFailed
from csdp.settings import get_settings
from csdp.workflows import tasks
from csdp.workflows.jobs import JobStore
from csdp.workflows.steps import ENGINE_RETRIES, run_step


class FakeTask:
    def __init__(self, retries: int = 0) -> None:
        self.request = SimpleNamespace(retries=retries)
        self.retried = []

    def retry(self, exc, countdown, max_retries):
        self.retried.append(countdown)
        return Retry(exc=exc, when=countdown)


@pytest.fixture
def job(fake_redis):  # noqa: F811
    return JobStore().create("alice", "light", "start")


def test_step_records_progress(job):
    value = run_step(FakeTask(), job.id, "create", lambda: "c1", replica=0)
    record = JobStore().get(job.id)
    assert value == "c1"
    assert record.state == "running"
    assert [(step.step, step.replica, step.state) for step in record.steps] == [("create", 0, "succeeded")]


def test_engine_unavailable_retried(job):
    task = FakeTask(retries=0)

    def action():
        raise EngineUnavailable("engine down")

    with pytest.raises(Retry):
        run_step(task, job.id, "start", action, replica=0)
    assert task.retried == [1]
    assert JobStore().get(job.id).state == "running"


def test_engine_unavailable_gives_up(job, fake_runtime, published):  # noqa: F811
    def action():
        raise EngineUnavailable("engine down")

    with pytest.raises(StepFailed, match="after 3 retries"):
        run_step(FakeTask(retries=ENGINE_RETRIES), job.id, "start", action, replica=2)
    error = JobStore().get(job.id).error
    assert error.details["step"] == "start"
    assert error.details["replica"] == 2


@pytest.mark.parametrize("error", [NotFound("no such directory /x"), BadRequest("unsafe path")])
def test_user_errors_not_retried(job, error, fake_runtime, published):  # noqa: F811
    task = FakeTask()

    def action():
        raise error

    with pytest.raises(StepFailed):
        run_step(task, job.id, "upload", action, container_id="c1")
    assert task.retried == []
    assert JobStore().get(job.id).error.details["reason"] == error.message


def test_unexpected_error_fails_job(job, fake_runtime, published):  # noqa: F811
    def action():
        raise ValueError("boom")

    with pytest.raises(StepFailed, match="ValueError: boom"):
        run_step(FakeTask(), job.id, "info", action, replica=0)


def test_failing_step_ends_job(job, fake_runtime, published):  # noqa: F811
    for replica in range(3):
        fake_runtime.add("alice", job_id=job.id, replica=replica)

    def action():
        raise NotFound("network csdp-test not found")

    with pytest.raises(StepFailed):
        run_step(FakeTask(), job.id, "connect", action, replica=1)
    assert fake_runtime.containers == {}
    assert [record.error.details["step"] for record in published] == ["connect"]


def test_failed_job_removes_own_container(job, fake_runtime):  # noqa: F811
    info = fake_runtime.add("alice", job_id=job.id)
    JobStore().fail(job.id, "other replica", step="connect", replica=1)
    with pytest.raises(Ignore):
        run_step(FakeTask(), job.id, "start", lambda: info.id, replica=0, container_id=info.id, owns_container=True)
    assert fake_runtime.containers == {}


def test_failure_during_step_removes_new_container(job, fake_runtime):  # noqa: F811
    def create():
        info = fake_runtime.add("alice", job_id=job.id)
        JobStore().fail(job.id, "other replica", step="connect", replica=1)
        return info.id

    with pytest.raises(Ignore):
        run_step(FakeTask(), job.id, "create", create, replica=0, owns_container=True)
    assert fake_runtime.containers == {}


def test_succeeded_job_keeps_container(job, fake_runtime):  # noqa: F811
    info = fake_runtime.add("alice", job_id=job.id)
    JobStore().succeed(job.id, {})
    with pytest.raises(Ignore):
        run_step(FakeTask(), job.id, "info", lambda: None, replica=0, container_id=info.id, owns_container=True)
    assert info.id in fake_runtime.containers


def test_fault_injection(job, monkeypatch, fake_runtime, published):  # noqa: F811
    monkeypatch.setattr(get_settings(), "fail_step", "connect:1")
    run_step(FakeTask(), job.id, "connect", lambda: "c0", replica=0)
    with pytest.raises(StepFailed, match="CSDP_FAIL_STEP=connect:1"):
        run_step(FakeTask(), job.id, "connect", lambda: "c1", replica=1)


def test_start_chain_runs(job, fake_runtime, catalog):  # noqa: F811
    container_id = tasks.create_container.run(job.id, 0, "light", "alice", {"greeting": "hi", "password": "s3cret"}, None)
    assert fake_runtime.last_spec.environment == {"GREETING": "hi", "PASSWORD": "s3cret"}
    assert fake_runtime.last_spec.command == ("sleep", "infinity")
    for step in (tasks.connect_network, tasks.start_container):
        assert step.run(container_id, job.id, 0) == container_id
    assert tasks.wait_ready.run(container_id, job.id, 0, "light") == container_id
    out = tasks.container_info.run(container_id, job.id, 0)
    assert out["status"] == "running"
    assert out["ip_address"] == "10.214.0.2"
    # Running create again returns the same container.
    assert tasks.create_container.run(job.id, 0, "light", "alice", {}, None) == container_id
    assert len(fake_runtime.containers) == 1


def test_upload_removes_staged_file(job, fake_runtime, tmp_path):  # noqa: F811
    info = fake_runtime.add("alice")
    staged = tmp_path / "upload.tar"
    staged.write_bytes(b"x")
    assert tasks.upload_files.run(job.id, info.id, "/tmp", str(staged)) == info.id
    assert not staged.exists()


def test_upload_failure_removes_staged_file(job, fake_runtime, published, tmp_path):  # noqa: F811
    info = fake_runtime.add("alice")
    fake_runtime.errors["put_files"] = NotFound("directory /does/not/exist does not exist")
    staged = tmp_path / "upload.tar"
    staged.write_bytes(b"x")
    with pytest.raises(StepFailed, match="/does/not/exist"):
        tasks.upload_files.run(job.id, info.id, "/does/not/exist", str(staged))
    assert not staged.exists()


def test_action_output_parsed(job, fake_runtime, catalog):  # noqa: F811
    from csdp.runtime.base import ExecResult

    info = fake_runtime.add("alice")
    fake_runtime.exec_result = ExecResult(exit_code=0, stdout=b'{"a": 1}\n', stderr=b"")
    out = tasks.run_action.run(job.id, info.id, "light", "echo", {"value": "a b"})
    assert out == {"container": info.id, "exit_code": 0, "output": {"a": 1}}
    assert fake_runtime.last_command == ["echo", "a b", "xa by"]


def test_render_command_one_argument_each():
    assert tasks.render_command(["x", "{a}", "--n={b}", "{missing}"], {"a": "1; rm -rf /", "b": True}) == ["x", "1; rm -rf /", "--n=true", ""]


@pytest.mark.parametrize(
    ("kind", "stdout", "expected"),
    [("json", '{"a": 1}', {"a": 1}), ("jsonl", '{"a": 1}\n\n{"b": 2}\n', [{"a": 1}, {"b": 2}]), ("json", "not json", "not jsonE"), ("text", "t", "tE")],
)
def test_parse_output(kind, stdout, expected):
    assert tasks.parse_output(kind, stdout, "E") == expected


def test_upload_redelivered_after_success(job, fake_runtime, tmp_path):  # noqa: F811
    info = fake_runtime.add("alice")
    staged = tmp_path / "upload.tar"
    staged.write_bytes(b"x")
    tasks.upload_files.run(job.id, info.id, "/tmp", str(staged))
    puts = [call for call in fake_runtime.calls if call[0] == "put_files"]
    assert tasks.upload_files.run(job.id, info.id, "/tmp", str(staged)) == info.id
    assert [call for call in fake_runtime.calls if call[0] == "put_files"] == puts
