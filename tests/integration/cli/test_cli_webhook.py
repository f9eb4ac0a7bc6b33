"""Service actions through the CLI and the short form, with the webhook service."""

from __future__ import annotations

import json
import urllib.request

import pytest

from csdp.client.client import Client
from csdp.client.shortform import Microservices

pytestmark = pytest.mark.integration


def _post(address: str, path: str) -> None:
    request = urllib.request.Request(f"http://{address}{path}", data=b'{"hello": 1}', method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def test_action_prints_recorded_requests(csdp):
    started = csdp("webhook", "start", "-p", "status_code=201", "--json")
    assert started.code == 0, started.err
    container = started.json()["containers"][0]
    _post(container["ip_address"], "/hook-from-cli")

    listed = csdp("webhook", "requests", "--json")
    printed = csdp("webhook", "requests")

    assert listed.code == 0, listed.err
    outputs = listed.json()["outputs"]
    assert len(outputs) == 1
    assert outputs[0]["exit_code"] == 0
    assert "/hook-from-cli" in json.dumps(outputs[0]["output"])
    assert printed.code == 0, printed.err
    assert "/hook-from-cli" in printed.out


def test_short_form_against_real_api(csdp):
    client = Client(csdp.env["CSDP_URL"], csdp.env["CSDP_TOKEN"], amqp_url=csdp.env["CSDP_AMQP_URL"])
    client.results_exchange = csdp.env["CSDP_RESULTS_EXCHANGE"]
    microservices = Microservices(client)

    started = microservices.webhook.start_service(num=2, status_code=201)
    _post(started["containers"][0]["ip_address"], "/hook-from-python")
    recorded = microservices.webhook.requests()
    shown = microservices.webhook.show()
    deleted = microservices.all.delete_service()

    assert len(started["containers"]) == 2
    assert set(started["containers"][0]) == {
        "id",
        "name",
        "service",
        "ip_address",
        "ipv6_address",
        "service_port",
        "status",
        "created",
    }
    assert started["containers"][0]["service_port"] == 80
    assert "/hook-from-python" in json.dumps(recorded["outputs"])
    assert sorted(item["id"] for item in shown["containers"]) == sorted(item["id"] for item in started["containers"])
    assert deleted == {"result": "success"}
    assert microservices.all.show() == {"containers": []}
