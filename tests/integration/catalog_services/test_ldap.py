"""The ldap service: users and groups seeded from parameters, LDIF at start and through the load action.

The client is the ldap3 library on this host, binding over plain LDAP.
"""

from __future__ import annotations

import ldap3
import pytest
from ldap3.core.exceptions import LDAPBindError

from csdp.workflows.specs import readiness_of

from catalog_helpers import assert_removed_cleanly, output_of, run_action, upload

pytestmark = pytest.mark.integration

BASE = "dc=qa,dc=test"
PARAMETERS = {
    "base_dn": BASE,
    "admin_password": "admin-secret",
    "users": "alice:alice-pw,bob:bob-pw",
    "groups": "admins:alice bob,devs:bob",
}
SEED_LDIF = b"""dn: uid=carol,ou=people,dc=qa,dc=test
objectClass: inetOrgPerson
uid: carol
cn: Carol Seed
sn: Seed
userPassword: carol-pw
"""
LATER_LDIF = b"""dn: uid=dave,ou=people,dc=qa,dc=test
objectClass: inetOrgPerson
uid: dave
cn: Dave Later
sn: Later
userPassword: dave-pw

dn: cn=devs,ou=groups,dc=qa,dc=test
changetype: modify
add: member
member: uid=dave,ou=people,dc=qa,dc=test
"""


def bind(address: str, user_dn: str, password: str) -> ldap3.Connection:
    server = ldap3.Server(address, port=389, connect_timeout=5)
    return ldap3.Connection(server, user=user_dn, password=password, auto_bind=True, receive_timeout=10)


def user_dn(name: str) -> str:
    return f"uid={name},ou=people,{BASE}"


def members_of(connection: ldap3.Connection, group: str) -> set[str]:
    connection.search(f"ou=groups,{BASE}", f"(cn={group})", attributes=["member"])
    [entry] = connection.entries
    return set(entry.member.values)


def test_ldap_user_bind_search(start_service, runtime, engine, owner):
    info = start_service("ldap", PARAMETERS)

    alice = bind(info.ip_address, user_dn("alice"), "alice-pw")
    found = alice.search(BASE, "(uid=bob)", attributes=["mail", "cn", "uidNumber", "userPassword"])
    entries = list(alice.entries)
    admins = members_of(alice, "admins")
    identity = alice.extend.standard.who_am_i()
    admin = bind(info.ip_address, f"cn=admin,{BASE}", "admin-secret")

    assert found is True
    [bob] = entries
    assert bob.entry_dn == user_dn("bob")
    assert bob.mail.value == "bob@example.org"
    assert bob.cn.value == "bob"
    assert bob.entry_attributes_as_dict.get("userPassword", []) == []
    assert admins == {user_dn("alice"), user_dn("bob")}
    assert identity == f"dn:{user_dn('alice')}"
    assert admin.bound is True
    with pytest.raises(LDAPBindError):
        bind(info.ip_address, user_dn("bob"), "wrong-pw")
    alice.unbind()
    admin.unbind()
    assert_removed_cleanly(runtime, engine, info.id, owner)


def test_ldap_ipv6_anonymous_off(start_service):
    info = start_service("ldap", {**PARAMETERS, "anonymous_access": "none"})
    address = info.ipv6_address

    anonymous = ldap3.Connection(ldap3.Server(address, port=389, connect_timeout=5), auto_bind=True)
    anonymous.search(BASE, "(uid=*)")
    bob = bind(address, user_dn("bob"), "bob-pw")
    bob.search(BASE, "(uid=*)", attributes=["uid"])

    assert anonymous.entries == []
    assert sorted(entry.uid.value for entry in bob.entries) == ["alice", "bob"]


def test_ldap_ldif_seed_and_load(start_service, runtime, catalog):
    info = start_service("ldap", PARAMETERS, uploads={"/etc/ldap/seed.d": {"50-carol.ldif": SEED_LDIF}})

    carol = bind(info.ip_address, user_dn("carol"), "carol-pw")
    upload(runtime, info.id, "/tmp", {"later.ldif": LATER_LDIF})
    loaded = run_action(runtime, catalog, "ldap", info.id, "load", path="/tmp/later.ldif")
    again = run_action(runtime, catalog, "ldap", info.id, "load", path="/tmp/later.ldif")
    dave = bind(info.ip_address, user_dn("dave"), "dave-pw")
    searched = run_action(runtime, catalog, "ldap", info.id, "search", base=f"ou=people,{BASE}", filter="(uid=dave)")

    assert carol.bound is True
    assert loaded.exit_code == 0, loaded.stderr
    assert b'adding new entry "uid=dave,ou=people,dc=qa,dc=test"' in loaded.stdout
    assert again.exit_code == 68
    assert b"Already exists" in again.stderr
    assert dave.bound is True
    assert members_of(dave, "devs") == {user_dn("bob"), user_dn("dave")}
    assert searched.exit_code == 0
    assert b"cn: Dave Later" in searched.stdout


def test_ldap_restart_keeps_directory(start_service, runtime, catalog):
    info = start_service("ldap", PARAMETERS)
    upload(runtime, info.id, "/tmp", {"later.ldif": LATER_LDIF})
    run_action(runtime, catalog, "ldap", info.id, "load", path="/tmp/later.ldif")

    runtime.restart(info.id)
    restarted = runtime.wait_ready(info.id, readiness_of(catalog.get("ldap").manifest))
    dave = bind(restarted.ip_address, user_dn("dave"), "dave-pw")

    assert dave.bound is True
    assert members_of(dave, "devs") == {user_dn("bob"), user_dn("dave")}
    assert "keeping the directory of an earlier start" in output_of(runtime, info.id)
