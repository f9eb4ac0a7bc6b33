"""The manifests of snmp, ntp, httpmock and ldap: they load, need no capability and check their values."""

from __future__ import annotations

import pytest

from csdp.catalog import check_parameters, load_catalog
from csdp.errors import InvalidInput

SERVICES = ["snmp", "ntp", "httpmock", "ldap"]


@pytest.fixture(scope="module")
def manifests():
    catalog = load_catalog()
    return {name: catalog.get(name).manifest for name in SERVICES}


@pytest.mark.parametrize("name", SERVICES)
def test_manifest_minimal_privileges(manifests, name):
    manifest = manifests[name]

    assert manifest.capabilities == []
    assert manifest.readiness.kind != "none"
    assert all(parameter.help for parameter in manifest.parameters)
    assert all(action.help for action in manifest.actions)
    assert all(parameter.env for parameter in manifest.parameters)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("snmp", {"ro_community": "has space"}),
        ("snmp", {"sys_location": 'quote"inside'}),
        ("snmp", {"v3_auth_passphrase": "short"}),
        ("ntp", {"local_stratum": 16}),
        ("ntp", {"allow": "everyone"}),
        ("ldap", {"base_dn": "cn=admin,dc=example"}),
        ("ldap", {"users": "alice"}),
        ("ldap", {"users": "alice:pass,word"}),
        ("ldap", {"groups": "admins:"}),
    ],
)
def test_manifest_rejects_value(manifests, name, values):
    with pytest.raises(InvalidInput) as raised:
        check_parameters(manifests[name].parameters, values)

    assert raised.value.field == f"parameters.{next(iter(values))}"


def test_manifest_secret_not_shown(manifests):
    with pytest.raises(InvalidInput) as raised:
        check_parameters(manifests["ldap"].parameters, {"users": "alice:pass word"})

    assert "pass word" not in raised.value.message
    assert "***" in raised.value.message


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("snmp", {"ro_community": "lab-ro", "v3_user": "qa", "v3_auth_passphrase": "auth-pass-1"}),
        ("ntp", {"allow": "10.0.0.0/8, fd00::/8", "servers": "ntp1.example.org,192.0.2.1"}),
        ("ldap", {"users": "alice:pass1,bob:pass2", "groups": "admins:alice bob,devs:bob"}),
    ],
)
def test_manifest_accepts_value(manifests, name, values):
    checked = check_parameters(manifests[name].parameters, values)

    for key, value in values.items():
        assert checked[key] == value


def test_manifest_action_placeholders(manifests):
    set_oid = manifests["snmp"].action("set_oid")

    checked = check_parameters(set_oid.parameters, {"oid": ".1.3.6.1.4.1.99999.1.0", "value": "x"})

    assert checked["type"] == "octet_str"
    with pytest.raises(InvalidInput):
        check_parameters(set_oid.parameters, {"oid": "1.3.6; rm -rf /", "value": "x"})
