"""Jobs end failed when a task breaks outside its step, and large action output is cut."""

from __future__ import annotations

import pytest
from celery.signals import task_failure
from kombu.exceptions import OperationalError
from test_workflows_fakes import catalog, fake_redis, fake_runtime, published  # noqa: F401

from csdp.errors import StepFailed
from csdp.runtime import execs
from csdp.runtime.base import ExecOutput, ExecResult
from csdp.workflows import finish, tasks
from csdp.workflows.jobs import JobStore


@pytest.fixture
def job(fake_redis):  # noqa: F811
    record = JobStore().create("alice", "light", "action")
    JobStore().mark_running(record.id)
    return record


def test_publish_failure_fails_job(job, fake_runtime, published):  # noqa: F811
    error = OperationalError("PRECONDITION_FAILED - message size 188743680 is larger than max size 134217728")
    task_failure.send(
        sender=tasks.run_action, task_id="t1", exception=error,
        args=(job.id, "c1", "light", "echo", {}), kwargs={},
    )
    record = JobStore().get(job.id)
    assert record.state == "failed"
    assert "PRECONDITION_FAILED" in record.error.message
    assert record.error.details["step"] == "run_action"
    assert [item.state for item in published] == ["failed"]


def test_keyword_job_id_found(job, fake_runtime, published):  # noqa: F811
    task_failure.send(
        sender=tasks.connect_network, task_id="t2", exception=OSError("store down"),
        args=("c1",), kwargs={"job_id": job.id, "replica": 0},
    )
    assert JobStore().get(job.id).state == "failed"


def test_step_failure_left_alone(job, fake_runtime, published):  # noqa: F811
    task_failure.send(
        sender=tasks.run_action, task_id="t3", exception=StepFailed("step x failed", step="x"),
        args=(job.id, "c1", "light", "echo", {}), kwargs={},
    )
    assert JobStore().get(job.id).state == "running"
    assert published == []


def test_broken_finish_fails_job(job, fake_runtime, published, monkeypatch):  # noqa: F811
    # The finish task claims the end of the job, then storing the result breaks.
    def broken_succeed(self, job_id, result):
        raise OSError("result too large to store")

    monkeypatch.setattr(JobStore, "succeed", broken_succeed)
    outcome = tasks.finish_action.apply(args=([{"output": "x"}], job.id))
    assert outcome.failed()
    record = JobStore().get(job.id)
    assert record.state == "failed"
    assert "result too large to store" in record.error.message
    assert [item.state for item in published] == ["failed"]
    assert not finish.succeed_job(job.id, {}, claimant="finish:again")


def test_action_marks_truncation(job, fake_runtime, catalog):  # noqa: F811
    info = fake_runtime.add("alice")
    fake_runtime.exec_result = ExecResult(exit_code=0, stdout=b'{"a": ', stderr=b"", truncated=True)
    out = tasks.run_action.run(job.id, info.id, "light", "echo", {"value": "v"})
    assert out["truncated"] is True
    assert out["output"] == '{"a": '


def test_exec_output_capped(monkeypatch):
    chunks = [ExecOutput("stdout", b"a" * 600), ExecOutput("stderr", b"e" * 10), ExecOutput("stdout", b"b" * 600),
              ExecResult(0, b"", b"")]
    monkeypatch.setattr(execs, "stream_exec", lambda *args, **kwargs: iter(chunks))
    result = execs.run_exec(None, "c" * 64, ["cat"], timeout=5, output_limit=1000)
    assert result.stdout == b"a" * 600 + b"b" * 400
    assert result.stderr == b"e" * 10
    assert result.truncated
    assert result.exit_code == 0


def test_exec_output_within_limit(monkeypatch):
    chunks = [ExecOutput("stdout", b"a" * 1000), ExecResult(3, b"", b"")]
    monkeypatch.setattr(execs, "stream_exec", lambda *args, **kwargs: iter(chunks))
    result = execs.run_exec(None, "c" * 64, ["cat"], timeout=5, output_limit=1000)
    assert (result.stdout, result.truncated, result.exit_code) == (b"a" * 1000, False, 3)
