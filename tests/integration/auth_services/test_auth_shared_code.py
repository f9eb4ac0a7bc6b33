"""The code radius and tacacs share: TOTP checks that agree with pyotp."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pyotp
import pytest

SERVICES = Path(__file__).resolve().parents[3] / "src" / "csdp" / "services"


def load_otp_users():
    """Import the service's otp_users.py, which is not part of the csdp package."""
    name = "radius_otp_users"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SERVICES / "_shared" / "otp" / "otp_users.py")
        module = importlib.util.module_from_spec(spec)
        # dataclasses look the module up in sys.modules while the class is created.
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_otp_codes_match_pyotp():
    otp_users = load_otp_users()
    secret = pyotp.random_base32()
    now = time.time()

    assert otp_users.totp_code(secret, int(now // 30)) == pyotp.TOTP(secret).at(now)


def test_otp_check_outcomes(tmp_path):
    otp_users = load_otp_users()
    store = str(tmp_path / "users.json")
    secret = pyotp.random_base32()
    otp_users.initialize(f"alice:pw1:{secret}", "test", 1, path=store)
    now = time.time()
    code = pyotp.TOTP(secret).at(now)

    assert otp_users.initialize("bob:pw2", "test", 1, path=store) == (["alice"], True)
    later_code = pyotp.TOTP(secret).at(now + 30)

    assert otp_users.check("alice", "pw2" + code, now=now, path=store).reason == "wrong password"
    assert otp_users.check("bob", "pw1" + code, now=now, path=store).reason == "unknown user"
    assert otp_users.check("alice", "pw1", now=now, path=store).reason == "the password is not followed by a 6-digit code"
    assert otp_users.check("alice", "pw1" + code, now=now, path=store).accepted
    assert otp_users.check("alice", "pw1" + code, now=now, path=store).reason == "code already used"
    # The next step's code is inside the window and newer, so it passes once.
    assert otp_users.check("alice", "pw1" + later_code, now=now, path=store).accepted
    assert otp_users.check("alice", "pw1" + code, now=now + 30, path=store).reason == "code already used"


def test_otp_window_zero_rejects_next_code(tmp_path):
    otp_users = load_otp_users()
    store = str(tmp_path / "users.json")
    secret = pyotp.random_base32()
    otp_users.initialize(f"alice:pw1:{secret}", "test", 0, path=store)
    now = time.time()

    result = otp_users.check("alice", "pw1" + pyotp.TOTP(secret).at(now + 30), now=now, path=store)

    assert result.reason == "wrong code"


def test_otp_users_parameter_errors():
    otp_users = load_otp_users()

    with pytest.raises(otp_users.UsersError, match="entry number 1 has 1 fields"):
        otp_users.parse_users("alice")
    with pytest.raises(otp_users.UsersError, match="is not base32"):
        otp_users.parse_users("alice:pw:not-base32!")
    with pytest.raises(otp_users.UsersError, match="appears twice"):
        otp_users.initialize("alice:a,alice:b", "test", 1, path="/nonexistent/users.json")
