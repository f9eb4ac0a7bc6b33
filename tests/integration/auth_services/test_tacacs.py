"""The tacacs service: ASCII and PAP logins with password plus TOTP code, replay protection, secrets, authorization, accounting."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
import struct

import pyotp
import pytest
from tacacs_plus import flags
from tacacs_plus.accounting import TACACSAccountingReply, TACACSAccountingStart
from tacacs_plus.authentication import TACACSAuthenticationContinue, TACACSAuthenticationReply, TACACSAuthenticationStart
from tacacs_plus.authorization import TACACSAuthorizationReply, TACACSAuthorizationStart
from tacacs_plus.client import TACACSClient
from tacacs_plus.packet import TACACSHeader, TACACSPacket

from csdp.workflows.specs import readiness_of

from auth_helpers import wrong_code
from service_testing import wait_for_output

pytestmark = pytest.mark.integration

SECRET = "s3cret-shared"
USERS = "alice:password1,bob:password2"
CONCURRENT_REQUESTS = 20
# The RFC 8907 header flag for bodies sent in clear text; tacacs_plus 2.6 has no name for it.
UNENCRYPTED_FLAG = 0x01
# The header flag that keeps one connection open for several sessions.
SINGLE_CONNECT_FLAG = 0x04


def client(address: str, secret: str | None = SECRET, **options) -> TACACSClient:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return TACACSClient(address, 49, secret, timeout=10, family=family, **options)


@pytest.fixture
def tacacs_server(start_service):
    return start_service("tacacs", {"secret": SECRET, "users": USERS, "authorization": "priv-lvl=15,service=shell"})


def test_tacacs_ascii_login_accepted(runtime, tacacs_server, user_secrets):
    secrets = user_secrets(tacacs_server)
    code = pyotp.TOTP(secrets["alice"]).now()

    reply = client(tacacs_server.ip_address).authenticate("alice", "password1" + code)

    assert reply.status == flags.TAC_PLUS_AUTHEN_STATUS_PASS
    output = wait_for_output(runtime, tacacs_server.id, "authentication PASS user='alice'")
    assert "authentication START type=ascii action=1 user='alice'" in output
    assert "authentication PASS user='alice'" in output
    assert "password1" not in output
    assert SECRET not in output
    assert secrets["alice"] not in output


def test_tacacs_pap_login_over_ipv6(tacacs_server, user_secrets):
    code = pyotp.TOTP(user_secrets(tacacs_server)["bob"]).now()

    reply = client(tacacs_server.ipv6_address).authenticate("bob", "password2" + code, authen_type=flags.TAC_PLUS_AUTHEN_TYPE_PAP)

    assert reply.status == flags.TAC_PLUS_AUTHEN_STATUS_PASS


def test_tacacs_ascii_prompts_for_user(tacacs_server, user_secrets):
    code = pyotp.TOTP(user_secrets(tacacs_server)["alice"]).now()
    tacacs = client(tacacs_server.ip_address)

    with tacacs.closing():
        start = TACACSAuthenticationStart("", flags.TAC_PLUS_AUTHEN_TYPE_ASCII)
        first = tacacs.send(start, flags.TAC_PLUS_AUTHEN)
        second = tacacs.send(TACACSAuthenticationContinue("alice"), flags.TAC_PLUS_AUTHEN, first.seq_no + 1)
        third = tacacs.send(TACACSAuthenticationContinue("password1" + code), flags.TAC_PLUS_AUTHEN, second.seq_no + 1)

    assert TACACSAuthenticationReply.unpacked(first.body).status == flags.TAC_PLUS_AUTHEN_STATUS_GETUSER
    assert TACACSAuthenticationReply.unpacked(second.body).status == flags.TAC_PLUS_AUTHEN_STATUS_GETPASS
    assert TACACSAuthenticationReply.unpacked(third.body).status == flags.TAC_PLUS_AUTHEN_STATUS_PASS


@pytest.mark.parametrize("authen_type", [flags.TAC_PLUS_AUTHEN_TYPE_ASCII, flags.TAC_PLUS_AUTHEN_TYPE_PAP])
def test_tacacs_rejects_wrong_code(runtime, tacacs_server, user_secrets, authen_type):
    secret = user_secrets(tacacs_server)["alice"]

    reply = client(tacacs_server.ip_address).authenticate("alice", "password1" + wrong_code(secret), authen_type=authen_type)

    assert reply.status == flags.TAC_PLUS_AUTHEN_STATUS_FAIL
    assert "authentication FAIL user='alice': wrong code" in wait_for_output(runtime, tacacs_server.id, "wrong code")


def test_tacacs_rejects_reused_code(runtime, tacacs_server, user_secrets):
    code = pyotp.TOTP(user_secrets(tacacs_server)["alice"]).now()
    tacacs = client(tacacs_server.ip_address)

    first = tacacs.authenticate("alice", "password1" + code)
    second = tacacs.authenticate("alice", "password1" + code, authen_type=flags.TAC_PLUS_AUTHEN_TYPE_PAP)

    assert first.status == flags.TAC_PLUS_AUTHEN_STATUS_PASS
    assert second.status == flags.TAC_PLUS_AUTHEN_STATUS_FAIL
    output = wait_for_output(runtime, tacacs_server.id, "code already used")
    assert "authentication FAIL user='alice': code already used" in output


def test_tacacs_concurrent_reuse_accepted_once(tacacs_server, user_secrets):
    code = pyotp.TOTP(user_secrets(tacacs_server)["alice"]).now()

    def attempt(_: int) -> int:
        return client(tacacs_server.ip_address).authenticate("alice", "password1" + code).status

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        statuses = list(pool.map(attempt, range(CONCURRENT_REQUESTS)))

    assert statuses.count(flags.TAC_PLUS_AUTHEN_STATUS_PASS) == 1
    assert statuses.count(flags.TAC_PLUS_AUTHEN_STATUS_FAIL) == CONCURRENT_REQUESTS - 1


def test_tacacs_wrong_secret_never_accepted(runtime, tacacs_server, user_secrets):
    code = pyotp.TOTP(user_secrets(tacacs_server)["alice"]).now()
    # A fixed session id makes the garbled reply, and so the test, the same on every run.
    tacacs = client(tacacs_server.ip_address, "not-the-secret", session_id=12345)

    try:
        status = tacacs.authenticate("alice", "password1" + code).status
    except (OSError, struct.error) as exc:
        status = repr(exc)

    assert status != flags.TAC_PLUS_AUTHEN_STATUS_PASS
    output = wait_for_output(runtime, tacacs_server.id, "shared secret differs")
    assert "session 0x00003039 from " in output
    assert "the client's shared secret differs or the packet is malformed; replying ERROR" in output


def exchange(sock: socket.socket, packet: TACACSPacket) -> TACACSPacket:
    """Send one packet on an open connection and return the reply, de-obfuscated with the test secret."""
    sock.sendall(bytes(packet))
    header = TACACSHeader.unpacked(sock.recv(12))
    body = b""
    while len(body) < header.length:
        body += sock.recv(header.length - len(body))
    return TACACSPacket(header, body, SECRET)


def unencrypted_login(address: str, name: str, password: str) -> TACACSAuthenticationReply:
    """Send a PAP START with the unencrypted flag, which tacacs_plus never sets by itself, and return the reply."""
    body = TACACSAuthenticationStart(name, flags.TAC_PLUS_AUTHEN_TYPE_PAP, data=password.encode())
    version = flags.TAC_PLUS_MAJOR_VER * 0x10 + flags.TAC_PLUS_MINOR_VER_ONE
    header = TACACSHeader(version, flags.TAC_PLUS_AUTHEN, 4242, len(body.packed), seq_no=1, flags=UNENCRYPTED_FLAG)
    with socket.create_connection((address, 49), timeout=10) as sock:
        reply = exchange(sock, TACACSPacket(header, body.packed, None))
    assert reply.header.flags & UNENCRYPTED_FLAG
    return TACACSAuthenticationReply.unpacked(reply.body_bytes)


def test_tacacs_unencrypted_rejected(runtime, tacacs_server, user_secrets):
    code = pyotp.TOTP(user_secrets(tacacs_server)["alice"]).now()

    reply = unencrypted_login(tacacs_server.ip_address, "alice", "password1" + code)

    assert reply.status == flags.TAC_PLUS_AUTHEN_STATUS_ERROR
    assert b"unencrypted packets are not accepted" in reply.server_msg
    assert "unencrypted flag, which is not allowed" in wait_for_output(runtime, tacacs_server.id, "unencrypted flag")


def test_tacacs_unencrypted_allowed(start_service, user_secrets):
    info = start_service("tacacs", {"secret": SECRET, "users": USERS, "allow_unencrypted": True})
    code = pyotp.TOTP(user_secrets(info)["alice"]).now()

    reply = unencrypted_login(info.ip_address, "alice", "password1" + code)

    assert reply.status == flags.TAC_PLUS_AUTHEN_STATUS_PASS


def test_tacacs_authorization_reply(runtime, tacacs_server):
    tacacs = client(tacacs_server.ip_address)

    known = tacacs.authorize("alice", arguments=[b"service=shell", b"cmd=show", b"cmd-arg=version"])
    unknown = tacacs.authorize("mallory", arguments=[b"service=shell"])

    assert known.status == flags.TAC_PLUS_AUTHOR_STATUS_PASS_ADD
    assert known.arguments == [b"priv-lvl=15", b"service=shell"]
    assert unknown.status == flags.TAC_PLUS_AUTHOR_STATUS_FAIL
    output = wait_for_output(runtime, tacacs_server.id, "unknown user 'mallory'")
    assert "authorization REQUEST user='alice'" in output
    assert "'cmd=show', 'cmd-arg=version'" in output
    assert "authorization FAIL: unknown user 'mallory'" in output


def test_tacacs_accounting_logged(runtime, tacacs_server, run_action):
    tacacs = client(tacacs_server.ip_address)
    arguments = [b"service=shell", b"task_id=77", b"cmd=show running-config"]

    replies = [
        tacacs.account("alice", record_flag, arguments=arguments)
        for record_flag in (flags.TAC_PLUS_ACCT_FLAG_START, flags.TAC_PLUS_ACCT_FLAG_WATCHDOG, flags.TAC_PLUS_ACCT_FLAG_STOP)
    ]

    assert [reply.status for reply in replies] == [flags.TAC_PLUS_ACCT_STATUS_SUCCESS] * 3
    output = wait_for_output(runtime, tacacs_server.id, "accounting STOP")
    for record_type in ("START", "WATCHDOG", "STOP"):
        assert f"accounting {record_type} user='alice' port='python_tty0' rem_addr='python_device'" in output
    assert "'task_id=77', 'cmd=show running-config'" in output
    exit_code, records = run_action(tacacs_server, "accounting_records")
    assert exit_code == 0
    assert [record["type"] for record in records] == ["start", "watchdog", "stop"]
    assert records[0]["user"] == "alice"
    assert records[0]["arguments"] == ["service=shell", "task_id=77", "cmd=show running-config"]


def test_tacacs_single_connect_sessions(tacacs_server):
    version = flags.TAC_PLUS_MAJOR_VER * 0x10 + flags.TAC_PLUS_MINOR_VER
    authorization = TACACSAuthorizationStart(
        "alice", flags.TAC_PLUS_AUTHEN_METH_TACACSPLUS, flags.TAC_PLUS_PRIV_LVL_MIN, flags.TAC_PLUS_AUTHEN_TYPE_ASCII, [b"service=shell"]
    )
    accounting = TACACSAccountingStart(
        "alice", flags.TAC_PLUS_ACCT_FLAG_START, flags.TAC_PLUS_AUTHEN_METH_TACACSPLUS, flags.TAC_PLUS_PRIV_LVL_MIN,
        flags.TAC_PLUS_AUTHEN_TYPE_ASCII, [b"service=shell", b"task_id=5"],
    )

    with socket.create_connection((tacacs_server.ip_address, 49), timeout=10) as sock:
        header = TACACSHeader(version, flags.TAC_PLUS_AUTHOR, 1001, len(authorization.packed), flags=SINGLE_CONNECT_FLAG)
        first = exchange(sock, TACACSPacket(header, authorization.packed, SECRET))
        header = TACACSHeader(version, flags.TAC_PLUS_ACCT, 1002, len(accounting.packed), flags=SINGLE_CONNECT_FLAG)
        second = exchange(sock, TACACSPacket(header, accounting.packed, SECRET))

    assert first.header.flags & SINGLE_CONNECT_FLAG
    assert TACACSAuthorizationReply.unpacked(first.body).status == flags.TAC_PLUS_AUTHOR_STATUS_PASS_ADD
    assert second.header.session_id == 1002
    assert TACACSAccountingReply.unpacked(second.body).status == flags.TAC_PLUS_ACCT_STATUS_SUCCESS


def test_tacacs_accounting_invalid_flags(tacacs_server):
    reply = client(tacacs_server.ip_address).account("alice", flags.TAC_PLUS_ACCT_FLAG_START | flags.TAC_PLUS_ACCT_FLAG_STOP)

    assert reply.status == flags.TAC_PLUS_ACCT_STATUS_ERROR


def test_tacacs_add_user(tacacs_server, run_action):
    exit_code, output = run_action(tacacs_server, "add_user", name="dave", password="pw-dave")

    assert exit_code == 0, output
    totp = pyotp.parse_uri(output["uri"])
    assert totp.secret == output["secret"]
    assert output["uri"].startswith("otpauth://totp/csdp-tacacs%3Adave?")
    reply = client(tacacs_server.ip_address).authenticate("dave", "pw-dave" + totp.now())
    assert reply.status == flags.TAC_PLUS_AUTHEN_STATUS_PASS


def test_tacacs_restart_keeps_users(runtime, catalog, tacacs_server, user_secrets):
    before = user_secrets(tacacs_server)
    code = pyotp.TOTP(before["alice"]).now()
    assert client(tacacs_server.ip_address).authenticate("alice", "password1" + code).status == flags.TAC_PLUS_AUTHEN_STATUS_PASS

    runtime.restart(tacacs_server.id)
    info = runtime.wait_ready(tacacs_server.id, readiness_of(catalog.get("tacacs").manifest))

    assert user_secrets(info) == before
    reply = client(info.ip_address).authenticate("alice", "password1" + code)
    assert reply.status == flags.TAC_PLUS_AUTHEN_STATUS_FAIL


def test_tacacs_unlisted_client_rejected(runtime, start_service, user_secrets):
    info = start_service("tacacs", {"secret": SECRET, "users": USERS, "clients": "192.0.2.0/24"})
    code = pyotp.TOTP(user_secrets(info)["alice"]).now()

    # The server closes the connection at once: the client gets a reset, or an empty header when the close wins.
    with pytest.raises((OSError, struct.error)):
        client(info.ip_address).authenticate("alice", "password1" + code)

    output = wait_for_output(runtime, info.id, "not inside the client networks")
    assert "rejected: not inside the client networks" in output
