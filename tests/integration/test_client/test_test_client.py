"""The test_client service: parallel runs, the owner's token inside, schedules and their e-mail."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from schedule_testing import DISPATCH_PERIOD_SECONDS
from stack_testing import wait_for

pytestmark = pytest.mark.integration

JOB_TIMEOUT = 120

# Lists the owner's containers through the injected client and config, then
# sleeps, so overlapping start and end times show that the replicas ran at once.
CLIENT_SCRIPT = """
import socket, time
from csdp.client import Client
started = time.time()
client = Client.from_config()
names = sorted(item["name"] for item in client.containers("test_client"))
print("host", socket.gethostname())
print("containers", len(names))
time.sleep(3)
print("window", started, time.time())
"""


def wait_job(client, job_id: str, timeout: float = JOB_TIMEOUT) -> dict:
    def ended():
        record = client.get(f"/jobs/{job_id}").json()
        return record if record["state"] in ("succeeded", "failed") else None

    return wait_for(ended, timeout, f"end of job {job_id}", interval=0.5)


def start_replicas(client, num: int) -> list[dict]:
    accepted = client.post("/services/test_client/start", json={"num": num, "ttl_seconds": 900})
    assert accepted.status_code == 202, accepted.text
    record = wait_job(client, accepted.json()["job_id"])
    assert record["state"] == "succeeded", record
    return record["result"]["containers"]


def run(client, **parameters) -> dict:
    accepted = client.post("/services/test_client/actions/run", json={"parameters": parameters})
    assert accepted.status_code == 202, accepted.text
    return wait_job(client, accepted.json()["job_id"])


def value_of(output: str, key: str) -> list[str]:
    for line in output.splitlines():
        if line.startswith(key + " "):
            return line.split()[1:]
    raise AssertionError(f"no line {key!r} in output:\n{output}")


def test_run_in_parallel(platform, user):
    platform()
    name, client = user
    containers = start_replicas(client, 2)

    record = run(client, runner="python", script=CLIENT_SCRIPT, name="list_mine.py")

    assert record["state"] == "succeeded", record
    assert record["parameters"]["script"] == "***"
    outputs = record["result"]["outputs"]
    assert sorted(item["container"] for item in outputs) == sorted(item["id"] for item in containers)
    assert [item["exit_code"] for item in outputs] == [0, 0], outputs
    assert {value_of(item["output"], "containers")[0] for item in outputs} == {"2"}
    assert len({value_of(item["output"], "host")[0] for item in outputs}) == 2
    windows = [tuple(map(float, value_of(item["output"], "window"))) for item in outputs]
    assert max(start for start, _ in windows) < min(end for _, end in windows), windows


def test_run_exit_codes(platform, user):
    platform()
    name, client = user
    start_replicas(client, 2)

    failing = run(client, runner="python", script="print('before exit')\nraise SystemExit(3)\n")
    tests = run(client, runner="pytest", name="test_math.py", script="def test_ok():\n    assert 1 + 1 == 2\n\ndef test_bad():\n    assert 1 == 2\n")

    assert [item["exit_code"] for item in failing["result"]["outputs"]] == [3, 3]
    assert all("before exit" in item["output"] for item in failing["result"]["outputs"])
    assert [item["exit_code"] for item in tests["result"]["outputs"]] == [1, 1]
    assert all("1 failed, 1 passed" in item["output"] for item in tests["result"]["outputs"])


def test_run_uploaded_scripts(platform, user):
    platform()
    name, client = user
    container = start_replicas(client, 1)[0]
    upload = client.put(
        f"/containers/{container['id']}/files",
        params={"path": "/opt/scripts"},
        files={"file": ("test_uploaded.py", io.BytesIO(b"def test_uploaded():\n    print('uploaded ran')\n"))},
    )
    assert wait_job(client, upload.json()["job_id"])["state"] == "succeeded"

    record = run(client, runner="pytest", scripts="test_uploaded.py")
    missing = run(client, runner="python", scripts="nothing.py")

    assert record["result"]["outputs"][0]["exit_code"] == 0, record
    assert "1 passed" in record["result"]["outputs"][0]["output"]
    assert missing["result"]["outputs"][0]["exit_code"] == 2
    assert "no script to run" in missing["result"]["outputs"][0]["output"]


def test_token_stays_inside(platform, user, runtime, api_url):
    import docker
    import httpx

    platform()
    name, client = user
    container = start_replicas(client, 1)[0]
    config = client.post(f"/containers/{container['id']}/exec", json={"command": ["cat", "/run/csdp/config/csdp/config.toml"]}).json()
    token = next(line.split('"')[1] for line in config["stdout"].splitlines() if line.startswith("token"))
    scoped = httpx.Client(base_url=f"{api_url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)

    engine = docker.from_env()
    attrs = engine.api.inspect_container(container["id"])
    logs = engine.api.logs(container["id"]).decode("utf-8", "replace")
    assert token not in json.dumps(attrs["Config"]["Labels"])
    assert token not in json.dumps(attrs["Config"]["Env"])
    assert token not in logs
    assert [item["id"] for item in scoped.get("/containers").json()] == [container["id"]]
    assert scoped.post("/admin/users", json={"name": "x"}).status_code in (401, 403)

    runtime.remove(container["id"])
    assert scoped.get("/containers").status_code == 401
    scoped.close()


def test_schedule_invalid_times(user):
    name, client = user
    body = {"service": "test_client", "action": "run", "parameters": {"script": "print(1)"}}
    cases = [
        ({"at": "2020-01-01T00:00:00+00:00"}, "at", "in the past"),
        ({"at": "2030-01-01T09:00:00"}, "at", "without a timezone"),
        ({"at": "next friday"}, "at", "ISO 8601"),
        ({"cron": "61 * * * *"}, "cron", "minute hour day-of-month month day-of-week"),
        ({"cron": "* * *"}, "cron", "has 3 fields"),
        ({}, "at", "exactly one of at"),
    ]
    for when, field, text in cases:
        response = client.post("/schedules", json={**body, **when})
        assert response.status_code == 422, (when, response.text)
        assert response.json()["field"] == field, when
        assert text in response.json()["message"], when
    assert client.get("/schedules").json() == []


def test_schedule_list_cancel(user):
    name, client = user
    created = client.post("/schedules", json={
        "service": "test_client", "action": "run", "cron": "0 3 * * *",
        "parameters": {"runner": "python", "script": "print('secret plan')"}, "email": "qa@example.com",
    })
    assert created.status_code == 201, created.text
    schedule = created.json()

    listed = client.get("/schedules").json()
    assert [item["id"] for item in listed] == [schedule["id"]]
    assert listed[0]["parameters"]["script"] == "***"
    assert listed[0]["next_run"].endswith("03:00:00Z") or listed[0]["next_run"].endswith("03:00:00+00:00")
    assert client.delete(f"/schedules/{schedule['id']}").status_code == 204
    assert client.get("/schedules").json() == []
    assert client.delete(f"/schedules/{schedule['id']}").status_code == 404


def test_schedule_runs_once(platform, user, mailbox):
    platform(beats=2)
    name, client = user
    start_replicas(client, 1)
    due = datetime.now(timezone.utc) + timedelta(seconds=20)
    created = client.post("/schedules", json={
        "service": "test_client", "action": "run", "at": due.isoformat(), "email": "qa@example.com",
        "parameters": {"runner": "python", "script": "import time\nprint('scheduled ran at', time.time())\n"},
    })
    assert created.status_code == 201, created.text

    def run_jobs():
        return [job for job in client.get("/jobs").json() if job["action"] == "run"]

    job = wait_for(run_jobs, 60, "scheduled job", interval=0.5)[0]
    record = wait_job(client, job["id"])
    wait_for(lambda: mailbox.about(job["id"]), 30, "result e-mail")
    # Several dispatcher periods later the schedule has not run again.
    time.sleep(5 * DISPATCH_PERIOD_SECONDS)

    assert len(run_jobs()) == 1
    assert len(mailbox.about(job["id"])) == 1
    assert record["state"] == "succeeded", record
    output = record["result"]["outputs"][0]["output"]
    ran_at = float(output.split("scheduled ran at")[1].split()[0])
    assert abs(ran_at - due.timestamp()) <= 10
    message = mailbox.about(job["id"])[0]
    assert message["To"] == "qa@example.com"
    assert "scheduled ran at" in message.get_content()
    assert client.get("/schedules").json() == []


def test_cli_schedule(user, api_url, tmp_path, mailbox):
    name, client = user
    token = client.headers["Authorization"].split()[1]
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith("CSDP_")},
        "CSDP_URL": api_url,
        "CSDP_TOKEN": token,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    script = tmp_path / "test_nightly.py"
    script.write_text("def test_nightly():\n    pass\n")

    def csdp(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "csdp.cli.main", *args], env=env, capture_output=True, text=True, timeout=60)

    service_help = csdp("test_client", "--help")
    schedule_help = csdp("test_client", "schedule", "--help")
    created = csdp("test_client", "schedule", "--cron", "30 1 * * *", "-p", "name=test_nightly.py", "-P", f"script={script}", "--json")
    past = csdp("test_client", "schedule", "--at", "2020-01-01T00:00:00+00:00", "-p", "runner=python")
    schedule_id = json.loads(created.stdout)["id"]
    listed = csdp("schedules")
    cancelled = csdp("schedules", "cancel", schedule_id)

    assert service_help.returncode == 0
    assert "schedule" in service_help.stdout
    assert "run" in service_help.stdout
    assert schedule_help.returncode == 0
    for text in ("--at TIME", "--cron EXPR", "runner (pytest|python", "script (secret)", "--param-file"):
        assert text in schedule_help.stdout, text
    assert created.returncode == 0, created.stderr
    assert past.returncode == 2
    assert "in the past" in past.stderr
    assert schedule_id[:12] in listed.stdout
    assert cancelled.returncode == 0, cancelled.stderr
    assert client.get("/schedules").json() == []
