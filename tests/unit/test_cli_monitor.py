"""``csdp <service> monitor`` with one or several containers, against a fake API."""

from __future__ import annotations

import json

from test_cli_service_commands import SECOND, cli, ndjson  # noqa: F401  (fixture)
from test_client_http import Reply, fake_api  # noqa: F401  (fixture)
from test_client_shortform import CONTAINER


def log_route(fake_api, container, *entries, delay: float = 0.0) -> None:
    fake_api.route(
        "GET",
        f"/containers/{container['id']}/logs",
        Reply(content_type="application/x-ndjson", stream=ndjson(*entries), delay=delay),
    )


def text(line: str) -> dict:
    return {"stream": "stdout", "timestamp": "2026-12-04T20:00:01+00:00", "text": line}


def test_monitor_all_containers_prefixes_names(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])
    log_route(fake_api, CONTAINER, text("first"))
    log_route(fake_api, SECOND, text("second\n"))

    code, out, err = cli("syslog", "monitor", "--tail", "20")

    assert code == 0
    width = len(SECOND["name"])
    assert out.splitlines() == [
        f"{CONTAINER['name']:{width}} | first",
        f"{SECOND['name']} | second",
    ]
    for container in (CONTAINER, SECOND):
        assert fake_api.calls("GET", f"/containers/{container['id']}/logs")[0].query == {"tail": "20"}


def test_monitor_one_container_has_no_prefix(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])
    log_route(fake_api, SECOND, text("second"))

    code, out, err = cli("syslog", "monitor", "--container", SECOND["name"])

    assert code == 0
    assert out == "second\n"
    assert fake_api.calls("GET", f"/containers/{CONTAINER['id']}/logs") == []


def test_monitor_follow_reads_all_at_once(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])
    end = {"event": "end", "status": "exited", "exit_code": 0}
    # The first stream responds late, so reading one stream after the other would print "fast" last.
    log_route(fake_api, CONTAINER, text("slow"), end, delay=1.0)
    log_route(fake_api, SECOND, text("fast"), end)

    code, out, err = cli("syslog", "monitor", "--follow")

    assert code == 0
    assert [line.split(" | ")[1] for line in out.splitlines()] == ["fast", "slow"]
    assert err.count("is exited, exit code 0") == 2


def test_monitor_follow_failed_stream_keeps_others(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])
    fake_api.route(
        "GET",
        f"/containers/{CONTAINER['id']}/logs",
        Reply(404, {"code": "not_found", "message": "container is gone"}),
    )
    log_route(fake_api, SECOND, text("still here"), {"event": "end", "status": "exited", "exit_code": 0})

    code, out, err = cli("syslog", "monitor", "--follow")

    assert code == 3
    assert out == f"{SECOND['name']} | still here\n"
    assert f"{CONTAINER['name']}: container is gone" in err


def test_monitor_json_names_container(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])
    log_route(fake_api, CONTAINER, text("first"))
    log_route(fake_api, SECOND, text("second"))

    code, out, err = cli("syslog", "monitor", "--json")

    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["container"] for line in lines] == [CONTAINER["name"], SECOND["name"]]


def test_monitor_clear_all(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])
    for container in (CONTAINER, SECOND):
        fake_api.route("POST", f"/containers/{container['id']}/logs/clear", Reply(204))

    code, out, err = cli("syslog", "monitor", "--clear")

    assert code == 0
    for container in (CONTAINER, SECOND):
        assert len(fake_api.calls("POST", f"/containers/{container['id']}/logs/clear")) == 1


def test_monitor_without_containers_exits_3(cli, fake_api):
    fake_api.route("GET", "/containers", [])

    code, out, err = cli("syslog", "monitor")

    assert code == 3
    assert "csdp syslog start" in err


def test_monitor_help_describes_all(cli):
    code, out, err = cli("syslog", "monitor", "--help")

    assert code == 0
    assert "all of your syslog containers when omitted" in " ".join(out.split())
    assert "follow them all at once" in " ".join(out.split())
