"""Stop, restart, actions and uploads as jobs, against the real engine, RabbitMQ and Redis."""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path

import pytest

from csdp.settings import get_settings

pytestmark = pytest.mark.integration

LIMITS = {"max_containers": 30, "max_replicas": 30}


@pytest.fixture
def running(start_worker, results, owner):
    """Two running sleeper containers of ``owner``, started through a job."""
    from csdp.workflows.submit import submit_start

    start_worker()
    job = submit_start(owner, "sleeper", 2, {}, 600, None, **LIMITS)
    pushed = results.wait(job.id, timeout=60)
    assert pushed["state"] == "succeeded"
    return [item["id"] for item in pushed["result"]["containers"]]


def staged_tar(name: str, content: bytes) -> Path:
    folder = get_settings().staging_dir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.tar"
    with tarfile.open(path, "w") as archive:
        member = tarfile.TarInfo(name)
        member.size = len(content)
        archive.addfile(member, io.BytesIO(content))
    return path


def test_stop_then_restart(running, results, owner):
    from csdp.runtime import get_runtime
    from csdp.workflows.submit import submit_restart, submit_stop

    stop = submit_stop(owner, running[:1])
    pushed = results.wait(stop.id, timeout=60)
    assert pushed["result"] == {"result": "success", "containers": running[:1]}
    assert get_runtime().info(running[0]).status == "exited"
    assert get_runtime().info(running[1]).status == "running"

    restart = submit_restart(owner, None, service="sleeper")
    pushed = results.wait(restart.id, timeout=60)
    assert sorted(pushed["result"]["containers"]) == sorted(running)
    assert [get_runtime().info(container).status for container in running] == ["running", "running"]


def test_action_outputs(running, results, owner):
    from csdp.workflows.submit import submit_action

    job = submit_action(owner, "sleeper", "echo_json", None, {"value": "a b; c"})
    pushed = results.wait(job.id, timeout=60)
    assert pushed["state"] == "succeeded"
    outputs = sorted(pushed["result"]["outputs"], key=lambda item: item["container"])
    assert [item["container"] for item in outputs] == sorted(running)
    assert [item["exit_code"] for item in outputs] == [0, 0]
    assert [item["output"] for item in outputs] == [{"value": "a b; c"}] * 2


def test_upload_into_container(running, results, owner):
    from csdp.runtime import get_runtime
    from csdp.workflows.submit import submit_upload

    staged = staged_tar("hello.txt", b"hello from the test\n")
    job = submit_upload(owner, running[0], "/tmp", staged)
    pushed = results.wait(job.id, timeout=60)
    assert pushed["state"] == "succeeded"
    assert pushed["result"] == {"result": "success", "containers": [running[0]], "path": "/tmp"}
    assert not staged.exists()
    output = get_runtime().exec(running[0], ["cat", "/tmp/hello.txt"], timeout=10)
    assert output.stdout == b"hello from the test\n"


def test_upload_missing_directory(running, results, owner):
    from csdp.workflows.submit import submit_upload

    staged = staged_tar("hello.txt", b"x" * 10)
    job = submit_upload(owner, running[0], "/does/not/exist", staged)
    pushed = results.wait(job.id, timeout=30)
    assert pushed["state"] == "failed"
    assert pushed["error"]["details"]["step"] == "upload"
    assert "/does/not/exist" in pushed["error"]["details"]["reason"]
    assert not staged.exists()


def test_action_output_truncated(running, results, owner):
    from csdp.workflows.submit import submit_action

    job = submit_action(owner, "sleeper", "big_output", running[:1], {})
    pushed = results.wait(job.id, timeout=60)
    assert pushed["state"] == "succeeded"
    [output] = pushed["result"]["outputs"]
    assert output["truncated"] is True
    assert len(output["output"]) == get_settings().max_exec_output_bytes


def test_addresses_kept_across_jobs(running, results, owner):
    from csdp.runtime import get_runtime
    from csdp.workflows.submit import submit_restart, submit_start, submit_stop

    def addresses() -> dict[str, tuple[str, str]]:
        return {
            container: (info.ip_address, info.ipv6_address)
            for container in running
            for info in [get_runtime().info(container)]
        }

    before = addresses()
    assert all(v4 and v6 for v4, v6 in before.values())

    assert results.wait(submit_restart(owner, running).id, timeout=60)["state"] == "succeeded"
    assert results.wait(submit_stop(owner, running[:1]).id, timeout=60)["state"] == "succeeded"
    # Containers started meanwhile must not take the stopped container's addresses.
    more = results.wait(submit_start(owner, "sleeper", 2, {}, 600, None, **LIMITS).id, timeout=60)
    assert more["state"] == "succeeded"
    assert results.wait(submit_restart(owner, running[:1]).id, timeout=60)["state"] == "succeeded"

    assert addresses() == before
    new = {(item["ip_address"], item["ipv6_address"]) for item in more["result"]["containers"]}
    assert not new & set(before.values())
