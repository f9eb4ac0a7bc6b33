"""Completion offers only the actions a service has; option help agrees with what the command does."""

from __future__ import annotations

from test_cli_service_commands import SYSLOG, cli  # noqa: F401  (fixture)
from test_client_http import fake_api  # noqa: F401  (fixture)

from csdp.cli.completion import candidates

PLAIN = {"name": "echo", "summary": "echo server", "parameters": [], "actions": []}


def test_completion_skips_schedule_without_actions():
    offered = candidates(["echo"], [PLAIN, SYSLOG])

    assert "schedule" not in offered
    assert offered[:3] == ["show", "start", "stop"]
    assert candidates(["echo", "schedule", ""], [PLAIN]) == []


def test_completion_offers_schedule_with_actions():
    offered = candidates(["syslog"], [PLAIN, SYSLOG])

    assert "schedule" in offered
    assert "messages" in offered
    assert "--cron" in candidates(["syslog", "schedule"], [SYSLOG])


def test_schedule_without_actions_is_unknown(cli, fake_api):
    fake_api.route("GET", "/services", [PLAIN])

    code, out, err = cli("echo", "schedule", "--cron", "0 2 * * *")

    assert code == 2
    assert "invalid choice: 'schedule'" in err


def test_stop_container_help_is_consistent(cli):
    code, out, err = cli("syslog", "stop", "--help")

    help_text = " ".join(out.split())
    assert code == 0
    assert "all of your syslog containers when omitted" in help_text
    assert "needed when you have several" not in help_text


def test_exec_container_help_says_needed(cli):
    code, out, err = cli("syslog", "exec", "--help")

    assert "needed when you have several" in " ".join(out.split())
