"""Every service of the catalog starts and is deleted through the real ``csdp`` command.

The images come from ``scripts/setup-host`` (``csdp images build``); firefox is
left out because its build needs a geckodriver the operator supplies.
"""

from __future__ import annotations

import pytest

from csdp.catalog import load_catalog

pytestmark = pytest.mark.integration

CATALOG = load_catalog()
STARTABLE = [name for name in CATALOG.names() if CATALOG.get(name).manifest.build == "required"]


@pytest.mark.parametrize("service", STARTABLE)
def test_service_start_and_delete(csdp, service):
    started = csdp(service, "start", "--json")
    assert started.code == 0, started.err or started.out
    containers = started.json()["containers"]
    assert len(containers) == 1
    assert containers[0]["status"] == "running"
    assert containers[0]["ip_address"]
    assert containers[0]["ipv6_address"]

    deleted = csdp(service, "delete", "--json")

    assert deleted.code == 0, deleted.err
    assert deleted.json()["result"] == "success"
    assert csdp(service, "show", "--json").json() == []


@pytest.mark.parametrize("service", CATALOG.names())
def test_service_help_lists_parameters_and_actions(csdp, service):
    manifest = CATALOG.get(service).manifest

    shown = csdp(service, "--help")

    assert shown.code == 0, shown.err
    for action in manifest.actions:
        assert action.name in shown.out
    started = csdp(service, "start", "--help")
    assert started.code == 0, started.err
    for parameter in manifest.parameters:
        assert parameter.name in started.out
