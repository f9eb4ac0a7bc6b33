"""``--json`` prints JSON on stdout also when a job fails or a wait times out; job ids may be prefixes."""

from __future__ import annotations

import json

from test_cli_service_commands import cli  # noqa: F401  (fixture)
from test_client_http import Reply, fake_api  # noqa: F401  (fixture)
from test_client_shortform import accept_job, job, sse

FULL_ID = "0123456789abcdef0123456789abcdef"


def test_failed_start_json_prints_record(cli, fake_api):
    error = {"code": "step_failed", "message": "network not found", "details": {"step": "connect"}}
    accept_job(fake_api, "POST", "/services/syslog/start", job("failed", error=error))

    code, out, err = cli("syslog", "start", "--json")

    assert code == 1
    record = json.loads(out)
    assert record["state"] == "failed"
    assert record["error"] == error
    assert "failed at step connect" in err


def test_failed_wait_json_prints_record(cli, fake_api):
    error = {"code": "step_failed", "message": "worker lost", "details": {"step": "start"}}
    accept_job(fake_api, "POST", "/unused", job("failed", error=error))

    code, out, err = cli("jobs", "job1", "--wait", "--json")

    assert code == 1
    assert json.loads(out)["error"]["message"] == "worker lost"


def test_timeout_json_prints_error_body(cli, fake_api):
    accept_job(fake_api, "POST", "/services/syslog/start", job("running"))
    fake_api.route("GET", "/jobs/job1", job("running"))
    fake_api.route("GET", "/jobs/job1/events", Reply(content_type="text/event-stream", body=b"", delay=2.0))

    code, out, err = cli("syslog", "start", "--timeout", "0.01", "--json")

    assert code == 6
    body = json.loads(out)
    assert body["code"] == "timeout"
    assert "csdp jobs job1" in body["message"]
    assert body["details"]["job_id"] == "job1"
    assert "csdp jobs job1" in err


def test_usage_error_json_prints_error_body(cli, fake_api):
    code, out, err = cli("syslog", "delete", "--container", "", "--json")

    assert code == 2
    assert json.loads(out)["code"] == "invalid_input"


def test_error_without_json_keeps_stdout_empty(cli, fake_api):
    accept_job(fake_api, "POST", "/services/syslog/start", job("failed", error={"code": "error", "message": "x"}))

    code, out, err = cli("syslog", "start")

    assert code == 1
    assert out == ""


def test_jobs_json_lists_full_ids(cli, fake_api):
    fake_api.route("GET", "/jobs", [dict(job("succeeded"), id=FULL_ID)])

    code, out, err = cli("jobs", "--json")

    assert code == 0
    assert json.loads(out)[0]["id"] == FULL_ID


def test_job_prefix_wait_follows_full_id(cli, fake_api):
    prefix = FULL_ID[:12]
    fake_api.route("GET", f"/jobs/{prefix}", dict(job("running"), id=FULL_ID))
    fake_api.route(
        "GET",
        f"/jobs/{FULL_ID}/events",
        Reply(content_type="text/event-stream", stream=sse(dict(job("succeeded"), id=FULL_ID))),
    )

    code, out, err = cli("jobs", prefix, "--wait", "--json")

    assert code == 0
    assert json.loads(out)["id"] == FULL_ID
    assert len(fake_api.calls("GET", f"/jobs/{FULL_ID}/events")) == 1


def test_missing_job_message_names_command(cli, fake_api):
    message = "job 'nosuch' not found or expired; list your jobs with GET /api/v1/jobs"
    fake_api.route("GET", "/jobs/nosuch", Reply(404, {"code": "not_found", "message": message}))

    code, out, err = cli("jobs", "nosuch")

    assert code == 3
    assert "GET /" not in err
    assert "csdp jobs lists your recent jobs" in err
