"""The API over HTTP with a real worker: the life of syslog and webhook containers."""

from __future__ import annotations

import os
import socket
import threading
import time

import httpx
import pytest

from api_helpers import ndjson, start, succeeded, sha256, tar_members
from stack_testing import api_server, wait_for

pytestmark = pytest.mark.integration


def send_traffic(service: str, info: dict, marker: str) -> None:
    """Send one message the service records: a syslog line over UDP or an HTTP request."""
    if service == "syslog":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(f"<13>1 - qa-host qa - - - {marker}".encode(), (info["ip_address"], 514))
    else:
        httpx.post(f"http://{info['ip_address']}:80/hook", content=marker, timeout=10)


@pytest.mark.parametrize("service", ["syslog", "webhook"])
def test_service_lifecycle(api_url, worker, make_user, service):
    _, client = make_user(api_url)

    # Start, then show.
    (container,) = start(client, service)
    shown = client.get(f"/containers/{container['id']}")
    assert shown.status_code == 200
    assert shown.json()["status"] == "running"
    assert shown.json()["ip_address"]
    assert [item["id"] for item in client.get("/containers").json()] == [container["id"]]

    # Monitor: the output shows the traffic sent to the container.
    marker = f"qa-marker-{os.getpid()}-{service}"
    send_traffic(service, container, marker)

    def logged() -> bool:
        lines = ndjson(client.get(f"/containers/{container['id']}/logs"))
        return any(marker in line.get("text", "") for line in lines)

    wait_for(logged, 15, f"{marker} in the logs")

    # Upload, then download the same bytes.
    payload = os.urandom(256 * 1024)
    upload = client.put(f"/containers/{container['id']}/files", params={"path": "/tmp"},
                        files={"file": ("payload.bin", payload)})
    succeeded(client, upload)
    download = client.get(f"/containers/{container['id']}/files", params={"path": "/tmp/payload.bin"})
    assert download.status_code == 200
    assert sha256(tar_members(download.content)["payload.bin"]) == sha256(payload)

    # Exec, buffered and streamed, keeps exit code and streams apart.
    command = ["sh", "-c", "echo out; echo err >&2; exit 3"]
    buffered = client.post(f"/containers/{container['id']}/exec", json={"command": command})
    assert buffered.json() == {"exit_code": 3, "stdout": "out\n", "stderr": "err\n", "timed_out": False, "truncated": False}
    streamed = ndjson(client.post(f"/containers/{container['id']}/exec", json={"command": command, "stream": True}))
    assert streamed[-1] == {"event": "exit", "exit_code": 3, "timed_out": False}
    assert {"stream": "stdout", "data": "out\n"} in streamed
    missing_program = client.post(f"/containers/{container['id']}/exec", json={"command": ["no-such-program"]})
    assert missing_program.json()["exit_code"] in (126, 127)

    # Delete.
    succeeded(client, client.delete(f"/containers/{container['id']}"))
    assert client.get(f"/containers/{container['id']}").status_code == 404
    assert client.get("/containers").json() == []


def test_logs_follow_ends_at_exit(api_url, worker, make_user, runtime):
    _, client = make_user(api_url)
    (container,) = start(client, "webhook")
    lines: list[dict] = []

    def follow() -> None:
        with client.stream("GET", f"/containers/{container['id']}/logs", params={"follow": True}, timeout=60) as answer:
            for line in answer.iter_lines():
                if line:
                    lines.append(httpx.Response(200, content=line).json())

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(1)
    assert reader.is_alive(), "the followed log ended while the container was running"
    runtime.stop(container["id"], timeout=5)
    reader.join(5)
    assert not reader.is_alive(), "the followed log did not end within 5 s of the container's exit"
    assert lines[-1]["event"] == "end"
    assert lines[-1]["status"] == "exited"
    assert isinstance(lines[-1]["exit_code"], int)


def test_logs_clear(api_url, worker, make_user):
    _, client = make_user(api_url)
    (container,) = start(client, "webhook")
    httpx.get(f"http://{container['ip_address']}:80/before-clear", timeout=10)
    wait_for(lambda: "before-clear" in client.get(f"/containers/{container['id']}/logs").text, 15, "request logged")
    assert client.post(f"/containers/{container['id']}/logs/clear").status_code == 204
    assert "before-clear" not in client.get(f"/containers/{container['id']}/logs").text


def test_action_and_service_stop(api_url, worker, make_user):
    _, client = make_user(api_url)
    (container,) = start(client, "webhook")
    httpx.get(f"http://{container['ip_address']}:80/recorded", timeout=10)
    record = succeeded(client, client.post("/services/webhook/actions/requests", json={}))
    (output,) = record["result"]["outputs"]
    assert output["exit_code"] == 0
    assert "/recorded" in str(output["output"])

    succeeded(client, client.post("/services/webhook/stop", json={}))
    assert client.get(f"/containers/{container['id']}").json()["status"] == "exited"


def test_ready_and_jobs(api_url, worker, make_user):
    _, client = make_user(api_url)
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"redis", "broker", "worker", "engine"}
    assert client.get("/jobs").json() == []


def test_ready_names_broker_down(api_env, tmp_path):
    # Port 9 (discard) has no listener here, so the broker cannot be reached.
    url, server = api_server({**api_env, "CSDP_BROKER_URL": "amqp://guest:guest@127.0.0.1:9//"}, tmp_path / "api.log")
    try:
        ready = httpx.get(f"{url}/api/v1/ready", timeout=30)
        assert ready.status_code == 503
        assert ready.json()["code"] == "engine_unavailable"
        assert "broker" in ready.json()["message"]
        assert "redis" not in ready.json()["message"]
        assert ready.json()["details"]["checks"]["redis"] == "ok"
        assert httpx.get(f"{url}/api/v1/health", timeout=5).status_code == 200
    finally:
        server.stop()
