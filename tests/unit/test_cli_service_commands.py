"""``csdp <service> <action>`` against a fake API: output, exit codes and requests sent."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
from test_client_http import Reply, fake_api  # noqa: F401  (fixture)
from test_client_shortform import CONTAINER, accept_job, job

from csdp import errors
from csdp.cli.main import main

SYSLOG = {
    "name": "syslog",
    "summary": "Syslog server that stores what it receives",
    "description": "",
    "ports": [{"port": 514, "protocol": "udp", "description": "syslog"}],
    "parameters": [
        {
            "name": "port",
            "type": "integer",
            "help": "UDP port to listen on",
            "default": 514,
            "minimum": 1,
            "maximum": 65535,
        },
        {"name": "verbose", "type": "boolean", "help": "log every message", "default": False},
        {"name": "format", "type": "choice", "help": "storage format", "choices": ["text", "json"]},
    ],
    "actions": [
        {
            "name": "messages",
            "help": "print the received messages",
            "output": "text",
            "parameters": [{"name": "limit", "type": "integer", "help": "most recent N messages"}],
        },
    ],
    "max_replicas": 10,
}
SECOND = dict(CONTAINER, id="d" * 64, name="csdp-syslog-alice-1a2b-job1-2", ip_address="10.213.0.6")


@pytest.fixture
def cli(fake_api, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CSDP_URL", fake_api.url)
    monkeypatch.setenv("CSDP_TOKEN", "token")
    monkeypatch.delenv("CSDP_AMQP_URL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    fake_api.route("GET", "/services", [SYSLOG])

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exit:
            code = exit.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_show_prints_table(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])

    code, out, err = cli("syslog", "show")

    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["ID", "NAME", "IPV4", "IPV6", "PORT", "STATUS", "CREATED"]
    assert row.split() == [
        "c" * 12,
        CONTAINER["name"],
        "10.213.0.5",
        "fd5c:5d9e:1::5",
        "514",
        "running",
        "2026-12-04",
        "20:00:00",
    ]


def test_show_json(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])

    code, out, err = cli("syslog", "show", "--json")

    assert code == 0
    assert json.loads(out) == [CONTAINER]


def test_show_empty_says_how_to_start(cli, fake_api):
    fake_api.route("GET", "/containers", [])

    code, out, err = cli("syslog", "show")

    assert code == 0
    assert "csdp syslog start" in out


def test_start_sends_typed_parameters(cli, fake_api):
    accept_job(fake_api, "POST", "/services/syslog/start", job("succeeded", result={"containers": [CONTAINER, SECOND]}))

    code, out, err = cli("syslog", "start", "-n", "2", "-p", "port=1514", "-p", "verbose=yes", "--ttl", "600")

    assert code == 0
    body = fake_api.calls("POST", "/services/syslog/start")[0].json()
    assert body == {"num": 2, "parameters": {"port": 1514, "verbose": True}, "ttl_seconds": 600}
    assert "10.213.0.6" in out


def test_start_json_prints_result(cli, fake_api):
    accept_job(fake_api, "POST", "/services/syslog/start", job("succeeded", result={"containers": [CONTAINER]}))

    code, out, err = cli("syslog", "start", "--json")

    assert code == 0
    assert json.loads(out) == {"containers": [CONTAINER]}


def test_start_no_wait_prints_job_id(cli, fake_api):
    accept_job(fake_api, "POST", "/services/syslog/start", job("succeeded"))

    code, out, err = cli("syslog", "start", "--no-wait")

    assert code == 0
    assert out == "job1\n"
    assert fake_api.calls("GET", "/jobs/job1") == []


def test_failed_job_exits_1(cli, fake_api):
    error = {"code": "step_failed", "message": "network not found", "details": {"step": "connect", "replica": 3}}
    accept_job(fake_api, "POST", "/services/syslog/start", job("failed", error=error))

    code, out, err = cli("syslog", "start", "-n", "3")

    assert code == 1
    assert "failed at step connect of replica 3: network not found" in err


@pytest.mark.parametrize("num", ["-1", "0", "100000"])
def test_rejected_num_exits_2(cli, fake_api, num):
    message = "num is out of range; give an integer from 1 to 10"
    fake_api.route(
        "POST", "/services/syslog/start", Reply(422, {"code": "invalid_input", "message": message, "field": "num"})
    )

    code, out, err = cli("syslog", "start", "-n", num)

    assert code == 2
    assert message in err


@pytest.mark.parametrize("num", ["2.5", "three", ""])
def test_non_integer_num_exits_2_before_sending(cli, fake_api, num):
    code, out, err = cli("syslog", "start", "-n", num)

    assert code == 2
    assert "invalid int value" in err
    assert fake_api.calls("POST", "/services/syslog/start") == []


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ("port=high", "parameter 'port' must be an integer, got 'high'"),
        ("verbose=maybe", "parameter 'verbose' must be true or false, got 'maybe'"),
        ("format=xml", "parameter 'format' is 'xml'; allowed values: text, json"),
        ("colour=red", "unknown parameter 'colour'; allowed parameters: port, verbose, format"),
        ("port", "-p 'port' is not NAME=VALUE"),
    ],
)
def test_bad_parameter_exits_2(cli, fake_api, assignment, expected):
    code, out, err = cli("syslog", "start", "-p", assignment)

    assert code == 2
    assert expected in err
    assert fake_api.calls("POST", "/services/syslog/start") == []


def test_unknown_service_exits_3(cli):
    code, out, err = cli("nosuch", "show")

    assert code == 3
    assert "service 'nosuch' is not in the catalog" in err
    assert "known services: syslog" in err


def test_rejected_token_exits_4(cli, fake_api):
    fake_api.route("GET", "/services", Reply(401, {"code": "unauthorized", "message": "invalid token; run csdp login"}))

    code, out, err = cli("syslog", "show")

    assert code == 4
    assert "invalid token" in err


def test_unreachable_api_exits_5(cli, monkeypatch):
    monkeypatch.setenv("CSDP_URL", "http://127.0.0.1:9")

    code, out, err = cli("syslog", "show")

    assert code == 5
    assert "cannot reach the API at http://127.0.0.1:9" in err


def test_wait_timeout_exits_6(cli, fake_api):
    accept_job(fake_api, "POST", "/services/syslog/start", job("running"))
    fake_api.route("GET", "/jobs/job1", job("running"))
    fake_api.route("GET", "/jobs/job1/events", Reply(content_type="text/event-stream", body=b"", delay=2.0))

    code, out, err = cli("syslog", "start", "--timeout", "0.5")

    assert code == 6
    assert "csdp jobs job1" in err


def test_delete_one_container(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])
    accept_job(
        fake_api,
        "POST",
        "/services/syslog/delete",
        job("succeeded", result={"result": "success", "containers": [SECOND["id"]]}),
    )

    code, out, err = cli("syslog", "delete", "--container", "ddd")

    assert code == 0
    assert fake_api.calls("POST", "/services/syslog/delete")[0].json() == {"container": SECOND["id"]}
    assert out == f"deleted 1 syslog container(s): {'d' * 12}\n"


def test_delete_whole_service(cli, fake_api):
    accept_job(
        fake_api,
        "POST",
        "/services/syslog/delete",
        job("succeeded", result={"result": "success", "containers": ["a", "b"]}),
    )

    code, out, err = cli("syslog", "delete", "--json")

    assert code == 0
    assert fake_api.calls("POST", "/services/syslog/delete")[0].json() == {"container": None}
    assert json.loads(out) == {"result": "success", "containers": ["a", "b"]}


def test_ambiguous_container_exits_2(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER, SECOND])

    code, out, err = cli("syslog", "exec", "--", "true")

    assert code == 2
    assert "choose one with --container ID" in err


def test_unknown_container_exits_3(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])

    code, out, err = cli("syslog", "exec", "--container", "zzz", "--", "true")

    assert code == 3
    assert "'zzz'" in err


def ndjson(*items) -> list[bytes]:
    return [(json.dumps(item) + "\n").encode() for item in items]


def test_monitor_follow_prints_until_end(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])
    lines = ndjson(
        {"stream": "stdout", "timestamp": "2026-12-04T20:00:01+00:00", "text": "hello"},
        {"event": "end", "status": "exited", "exit_code": 0},
    )
    fake_api.route(
        "GET", f"/containers/{CONTAINER['id']}/logs", Reply(content_type="application/x-ndjson", stream=lines)
    )

    code, out, err = cli("syslog", "monitor", "--follow", "--tail", "10")

    assert code == 0
    assert out == "hello\n"
    assert "exited, exit code 0" in err
    assert fake_api.calls("GET", f"/containers/{CONTAINER['id']}/logs")[0].query == {"follow": "true", "tail": "10"}


def test_monitor_clear(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])
    fake_api.route("POST", f"/containers/{CONTAINER['id']}/logs/clear", Reply(204))

    code, out, err = cli("syslog", "monitor", "--clear")

    assert code == 0
    assert len(fake_api.calls("POST", f"/containers/{CONTAINER['id']}/logs/clear")) == 1


def test_exec_streams_output_and_exit_code(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])
    chunks = ndjson(
        {"stream": "stdout", "data": "out\n"},
        {"stream": "stderr", "data": "err\n"},
        {"event": "exit", "exit_code": 3, "timed_out": False},
    )
    fake_api.route(
        "POST", f"/containers/{CONTAINER['id']}/exec", Reply(content_type="application/x-ndjson", stream=chunks)
    )

    code, out, err = cli("syslog", "exec", "--", "sh", "-c", "echo out; echo err >&2; exit 3")

    assert code == 3
    assert out == "out\n"
    assert err == "err\n"
    body = fake_api.calls("POST", f"/containers/{CONTAINER['id']}/exec")[0].json()
    assert body == {"command": ["sh", "-c", "echo out; echo err >&2; exit 3"], "stream": True}


def test_exec_json_keeps_exit_code(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])
    response = {"exit_code": 127, "stdout": "", "stderr": "not found\n", "timed_out": False}
    fake_api.route("POST", f"/containers/{CONTAINER['id']}/exec", response)

    code, out, err = cli("syslog", "exec", "--json", "--", "nosuchprogram")

    assert code == 0
    assert json.loads(out) == response


def test_exec_stream_error_event_maps_code(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])
    chunks = ndjson({"event": "error", "code": "not_found", "message": "container is gone"})
    fake_api.route(
        "POST", f"/containers/{CONTAINER['id']}/exec", Reply(content_type="application/x-ndjson", stream=chunks)
    )

    code, out, err = cli("syslog", "exec", "--", "true")

    assert code == 3
    assert "container is gone" in err


def test_exec_without_command_exits_2(cli, fake_api):
    code, out, err = cli("syslog", "exec")

    assert code == 2
    assert "give the command after --" in err


def test_upload_missing_directory_exits_3(cli, fake_api, tmp_path):
    local = tmp_path / "small.txt"
    local.write_bytes(b"0123456789")
    fake_api.route("GET", "/containers", [CONTAINER])
    message = "directory /does/not/exist does not exist in the container; create it first"
    fake_api.route(
        "PUT",
        f"/containers/{CONTAINER['id']}/files",
        Reply(404, {"code": "not_found", "message": message, "field": "path"}),
    )

    code, out, err = cli("syslog", "files", "upload", str(local), "--to", "/does/not/exist")

    assert code == 3
    assert "/does/not/exist" in err


def test_upload_missing_local_file_exits_2(cli, fake_api, tmp_path):
    code, out, err = cli("syslog", "files", "upload", str(tmp_path / "nope"), "--to", "/tmp")

    assert code == 2
    assert "does not exist" in err


def tar_of(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


def test_download_single_file(cli, fake_api, tmp_path):
    fake_api.route("GET", "/containers", [CONTAINER])
    fake_api.route(
        "GET",
        f"/containers/{CONTAINER['id']}/files",
        Reply(content_type="application/x-tar", body=tar_of({"messages.log": b"line\n"})),
    )
    out_file = tmp_path / "copy.log"

    code, out, err = cli("syslog", "files", "download", "/var/log/messages.log", "--out", str(out_file))

    assert code == 0
    assert out_file.read_bytes() == b"line\n"


def test_download_rejects_escaping_members(cli, fake_api, tmp_path):
    archive = tar_of({"tmp/a": b"a", "../../../../tmp/pwned": b"x"}, links={"tmp/etclink": "/etc"})
    fake_api.route("GET", "/containers", [CONTAINER])
    fake_api.route("GET", f"/containers/{CONTAINER['id']}/files", Reply(content_type="application/x-tar", body=archive))
    target = tmp_path / "out"

    code, out, err = cli("syslog", "files", "download", "/tmp/", "--out", str(target))

    assert code == 2
    assert "unsafe member" in err
    assert not (tmp_path / "pwned").exists()
    assert not (target / "tmp" / "etclink").exists()
    assert not (target / "tmp" / "a").exists()


def test_custom_action_prints_output(cli, fake_api):
    fake_api.route("GET", "/containers", [CONTAINER])
    outputs = {"outputs": [{"container": CONTAINER["id"], "exit_code": 0, "output": "<13>hello"}]}
    accept_job(fake_api, "POST", "/services/syslog/actions/messages", job("succeeded", result=outputs))

    code, out, err = cli("syslog", "messages", "-p", "limit=5")

    assert code == 0
    assert out == "<13>hello\n"
    body = fake_api.calls("POST", "/services/syslog/actions/messages")[0].json()
    assert body == {"container": None, "parameters": {"limit": 5}}


def test_custom_action_nonzero_exit_exits_1(cli, fake_api):
    outputs = {
        "outputs": [
            {"container": "a", "exit_code": 0, "output": "ok"},
            {"container": "b", "exit_code": 2, "output": "bad"},
        ]
    }
    accept_job(fake_api, "POST", "/services/syslog/actions/messages", job("succeeded", result=outputs))

    code, out, err = cli("syslog", "messages")

    assert code == 1
    assert "== b (exit code 2)" in out


def test_service_help_lists_parameters_and_actions(cli):
    code, out, err = cli("syslog", "--help")

    assert code == 0
    assert "Syslog server that stores what it receives" in out
    assert "port (integer, min 1, max 65535, default 514): UDP port to listen on" in out
    assert "messages: print the received messages" in out
    assert "exit codes:" in out


def test_action_help_lists_its_parameters(cli):
    code, out, err = cli("syslog", "messages", "--help")

    assert code == 0
    assert "limit (integer): most recent N messages" in out


def test_server_error_exits_5(cli, fake_api):
    fake_api.route("GET", "/containers", Reply(500, {"code": "error", "message": "internal server error"}))

    code, out, err = cli("syslog", "show")

    assert code == 5
    assert "internal server error" in err


def test_exit_code_of_every_error_class():
    from csdp.cli.exit_codes import exit_code_for

    assert exit_code_for(errors.InvalidInput("x")) == 2
    assert exit_code_for(errors.LimitExceeded("x")) == 2
    assert exit_code_for(errors.NotFound("x")) == 3
    assert exit_code_for(errors.Forbidden("x")) == 4
    assert exit_code_for(errors.EngineUnavailable("x")) == 5
    assert exit_code_for(errors.OperationTimeout("x")) == 6
