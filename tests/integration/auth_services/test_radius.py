"""The radius service: password plus TOTP code over PAP, replay protection, shared secret, clients, accounting, actions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyotp
import pytest
from pyrad import packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

from csdp.workflows.specs import readiness_of

from auth_helpers import wrong_code
from service_testing import output_of, wait_for_output

pytestmark = pytest.mark.integration

DICTIONARY = Dictionary(str(Path(__file__).with_name("radius.dictionary")))
SECRET = "s3cret-shared"
USERS = "alice:password1,bob:password2"
CONCURRENT_REQUESTS = 20


def client(address: str, secret: str = SECRET, *, retries: int = 3) -> Client:
    return Client(server=address, secret=secret.encode(), dict=DICTIONARY, retries=retries, timeout=3)


def authenticate(radius: Client, name: str, password: str, *, message_authenticator: bool = True) -> int:
    """Send a PAP Access-Request and return the reply code; raise Timeout when no valid reply comes."""
    request = radius.CreateAuthPacket(code=packet.AccessRequest, User_Name=name, message_authenticator=message_authenticator)
    request["User-Password"] = request.PwCrypt(password)
    request["NAS-Identifier"] = "csdp-test"
    return radius.SendPacket(request).code


@pytest.fixture
def radius_server(start_service):
    return start_service("radius", {"secret": SECRET, "users": USERS})


def test_radius_accepts_password_and_code(runtime, radius_server, user_secrets):
    secrets = user_secrets(radius_server)
    code = pyotp.TOTP(secrets["alice"]).now()

    assert authenticate(client(radius_server.ip_address), "alice", "password1" + code) == packet.AccessAccept

    output = wait_for_output(runtime, radius_server.id, "Login OK")
    assert "Login OK (otp: password and code accepted): [alice]" in output
    assert "password1" not in output
    assert SECRET not in output
    assert secrets["alice"] not in output


def test_radius_accepts_over_ipv6(radius_server, user_secrets):
    code = pyotp.TOTP(user_secrets(radius_server)["bob"]).now()

    assert authenticate(client(radius_server.ipv6_address), "bob", "password2" + code) == packet.AccessAccept


def test_radius_rejects_wrong_code(runtime, radius_server, user_secrets):
    secret = user_secrets(radius_server)["alice"]

    assert authenticate(client(radius_server.ip_address), "alice", "password1" + wrong_code(secret)) == packet.AccessReject

    output = wait_for_output(runtime, radius_server.id, "otp: wrong code")
    assert "Login incorrect (otp: wrong code): [alice]" in output


def test_radius_rejects_wrong_password(runtime, radius_server, user_secrets):
    code = pyotp.TOTP(user_secrets(radius_server)["alice"]).now()

    assert authenticate(client(radius_server.ip_address), "alice", "password2" + code) == packet.AccessReject

    assert "otp: wrong password" in wait_for_output(runtime, radius_server.id, "otp: wrong password")


def test_radius_rejects_reused_code(runtime, radius_server, user_secrets):
    code = pyotp.TOTP(user_secrets(radius_server)["alice"]).now()
    radius = client(radius_server.ip_address)

    assert authenticate(radius, "alice", "password1" + code) == packet.AccessAccept
    assert authenticate(radius, "alice", "password1" + code) == packet.AccessReject

    assert "otp: code already used" in wait_for_output(runtime, radius_server.id, "otp: code already used")


def test_radius_concurrent_reuse_accepted_once(radius_server, user_secrets):
    code = pyotp.TOTP(user_secrets(radius_server)["alice"]).now()

    def attempt(_: int) -> int:
        # One client per request: a pyrad client reads replies from one shared socket.
        return authenticate(client(radius_server.ip_address), "alice", "password1" + code)

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        codes = list(pool.map(attempt, range(CONCURRENT_REQUESTS)))

    assert codes.count(packet.AccessAccept) == 1
    assert codes.count(packet.AccessReject) == CONCURRENT_REQUESTS - 1


@pytest.mark.parametrize("message_authenticator", [True, False])
def test_radius_wrong_secret_never_accepted(radius_server, user_secrets, message_authenticator):
    code = pyotp.TOTP(user_secrets(radius_server)["alice"]).now()
    radius = client(radius_server.ip_address, "not-the-secret", retries=1)

    # The server drops a request whose Message-Authenticator does not match, and
    # a reply signed with the real secret fails the client's check: both end in Timeout.
    try:
        code_received = authenticate(radius, "alice", "password1" + code, message_authenticator=message_authenticator)
    except Timeout:
        code_received = None

    assert code_received != packet.AccessAccept


def test_radius_unlisted_client_ignored(runtime, start_service, user_secrets):
    info = start_service("radius", {"secret": SECRET, "users": USERS, "clients": "192.0.2.0/24"})
    code = pyotp.TOTP(user_secrets(info)["alice"]).now()

    with pytest.raises(Timeout):
        authenticate(client(info.ip_address, retries=1), "alice", "password1" + code)

    assert "unknown client" in wait_for_output(runtime, info.id, "unknown client")


def test_radius_given_secret_used(start_service, user_secrets):
    secret = pyotp.random_base32()
    info = start_service("radius", {"secret": SECRET, "users": f"carol:pw-carol:{secret}"})

    assert user_secrets(info) == {"carol": secret}
    code = pyotp.TOTP(secret).now()
    assert authenticate(client(info.ip_address), "carol", "pw-carol" + code) == packet.AccessAccept


def test_radius_add_user(radius_server, run_action):
    exit_code, output = run_action(radius_server, "add_user", name="dave", password="pw-dave")

    assert exit_code == 0, output
    assert output["name"] == "dave"
    totp = pyotp.parse_uri(output["uri"])
    assert totp.secret == output["secret"]
    assert output["uri"].startswith("otpauth://totp/csdp-radius%3Adave?")
    assert authenticate(client(radius_server.ip_address), "dave", "pw-dave" + totp.now()) == packet.AccessAccept


def test_radius_password_special_characters(radius_server, run_action):
    # FreeRADIUS passes the password to the check in an environment variable, quoted and escaped.
    password = "p\"w\\1$x`y'z"
    exit_code, output = run_action(radius_server, "add_user", name="erin", password=password)

    assert exit_code == 0, output
    code = pyotp.TOTP(output["secret"]).now()
    assert authenticate(client(radius_server.ip_address), "erin", password + code) == packet.AccessAccept


def test_radius_restart_keeps_users(runtime, catalog, radius_server, user_secrets, run_action):
    exit_code, output = run_action(radius_server, "add_user", name="dave", password="pw-dave")
    assert exit_code == 0, output
    before = user_secrets(radius_server)
    code = pyotp.TOTP(before["alice"]).now()
    assert authenticate(client(radius_server.ip_address), "alice", "password1" + code) == packet.AccessAccept

    runtime.restart(radius_server.id)
    info = runtime.wait_ready(radius_server.id, readiness_of(catalog.get("radius").manifest))

    assert user_secrets(info) == before
    assert authenticate(client(info.ip_address), "alice", "password1" + code) == packet.AccessReject
    assert "radius: 3 users kept from the previous start" in output_of(runtime, info.id)


def test_radius_add_user_existing_name(radius_server, run_action):
    exit_code, output = run_action(radius_server, "add_user", name="alice", password="other")

    assert exit_code != 0
    assert "user 'alice' already exists" in output


def test_radius_accounting_logged(runtime, radius_server):
    radius = client(radius_server.ip_address)
    request = radius.CreateAcctPacket(User_Name="alice", Acct_Status_Type="Start", Acct_Session_Id="session-42")
    request["NAS-Identifier"] = "csdp-test"

    assert radius.SendPacket(request).code == packet.AccountingResponse

    output = wait_for_output(runtime, radius_server.id, "session-42")
    assert "Accounting Start: [alice] session session-42" in output
