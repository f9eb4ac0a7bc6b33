"""``csdp login``, ``jobs``, ``all``, ``services``, completion and the server commands' import errors."""

from __future__ import annotations

import json
import stat
import sys

from test_cli_service_commands import SYSLOG, cli  # noqa: F401  (fixture)
from test_client_http import Reply, fake_api  # noqa: F401  (fixture)
from test_client_shortform import CONTAINER, accept_job, job

from csdp.client.config import config_path


def test_login_writes_private_config(cli, fake_api, monkeypatch):
    monkeypatch.delenv("CSDP_URL")
    monkeypatch.delenv("CSDP_TOKEN")

    code, out, err = cli("login", "--url", fake_api.url, "--token", "new-token")

    assert code == 0
    path = config_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert 'token = "new-token"' in path.read_text()
    assert fake_api.calls("GET", "/services")[0].headers["Authorization"] == "Bearer new-token"


def test_login_rejected_token_writes_nothing(cli, fake_api):
    fake_api.route("GET", "/services", Reply(401, {"code": "unauthorized", "message": "invalid token"}))

    code, out, err = cli("login", "--url", fake_api.url, "--token", "bad")

    assert code == 4
    assert not config_path().exists()


def test_no_token_message(cli, monkeypatch):
    monkeypatch.delenv("CSDP_TOKEN")

    code, out, err = cli("syslog", "show")

    assert code == 4
    assert err == "csdp: error: no API token: set CSDP_TOKEN or run csdp login\n"


def test_jobs_table(cli, fake_api):
    fake_api.route("GET", "/jobs", [job("succeeded", created="2026-12-04T20:00:00+00:00", finished=None)])

    code, out, err = cli("jobs")

    assert code == 0
    assert out.splitlines()[0].split() == ["ID", "ACTION", "SERVICE", "STATE", "CREATED", "FINISHED"]
    assert "succeeded" in out


def test_job_failed_exits_1(cli, fake_api):
    error = {"code": "step_failed", "message": "worker lost", "details": {"step": "start"}}
    fake_api.route("GET", "/jobs/job1", job("failed", error=error, created="2026-12-04T20:00:00+00:00"))

    code, out, err = cli("jobs", "job1", "--json")

    assert code == 1
    assert json.loads(out)["error"]["message"] == "worker lost"


def test_missing_job_exits_3(cli, fake_api):
    code, out, err = cli("jobs", "nosuch")
    assert code == 3


def test_all_show_has_service_column(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])

    code, out, err = cli("all", "show")

    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["ID", "SERVICE", "NAME"]
    assert fake_api.calls("GET", "/containers")[0].query == {}


def test_all_delete(cli, fake_api):
    accept_job(
        fake_api, "DELETE", "/containers", job("succeeded", result={"result": "success", "containers": ["a", "b"]})
    )

    code, out, err = cli("all", "delete")

    assert code == 0
    assert out == "deleted 2 container(s)\n"


def test_services_lists_catalog(cli):
    code, out, err = cli("services")

    assert code == 0
    assert "syslog" in out
    assert SYSLOG["summary"] in out


def test_completion_scripts(cli):
    for shell in ("bash", "zsh"):
        code, out, err = cli("completion", shell)
        assert code == 0
        assert "csdp __complete" in out


def test_complete_candidates(cli):
    assert cli("__complete")[1].split() == [
        "admin",
        "all",
        "completion",
        "engine",
        "images",
        "jobs",
        "login",
        "schedules",
        "server",
        "services",
        "syslog",
    ]
    assert cli("__complete", "syslog")[1].split()[-1] == "messages"
    assert cli("__complete", "syslog", "start", "-p")[1].split() == ["port=", "verbose=", "format="]


def test_top_help_lists_services_and_exit_codes(cli):
    code, out, err = cli("--help")

    assert code == 0
    assert "syslog" in out
    assert "5  API or broker unreachable" in out


def test_no_arguments_exits_2(cli):
    assert cli()[0] == 2


def test_server_command_without_extra_names_install(cli, monkeypatch):
    # A None entry in sys.modules makes the import fail as if the package were missing.
    monkeypatch.setitem(sys.modules, "csdp.engine", None)

    code, out, err = cli("engine", "up")

    assert code == 2
    assert "pip install 'csdp[server]'" in err
    assert "csdp engine up" in err
