"""Users with a password and a TOTP secret, checked as the password followed by the current code.

The radius and tacacs services carry identical copies of this file, because
each service folder is its own image build context.

Users live in one JSON file (OTP_STORE, default /var/lib/otp/users.json).
Every read-modify-write holds an exclusive lock on a file beside it, so that
users added at run time are seen by the next request and two requests with
the same code cannot both pass. Passwords are stored as scrypt hashes; TOTP
secrets must stay readable to compute codes, so the file is mode 0600.

Codes follow RFC 6238 as Google Authenticator uses them: HMAC-SHA1, 6 digits,
30-second steps, base32 secrets. A code is accepted for the current step and
OTP_WINDOW steps either side (default 1, for clock skew), as stored at init.
RFC 6238 requires that an accepted code is not accepted again, so after a
code of step N passes, codes of step N and earlier are rejected for that user.

Command line, used by the entrypoints and the actions:
  otp-users init                   create the store from OTP_USERS, OTP_ISSUER
                                   and OTP_WINDOW
  otp-users add NAME PASSWORD [SECRET]
                                   add a user; print JSON with the secret and URI
  otp-users list                   print JSON with every user's secret and URI
  otp-users check                  check USER_NAME and USER_PASSWORD from the
                                   environment, as FreeRADIUS exec passes them,
                                   and print Module-Success-Message or
                                   Module-Failure-Message
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import struct
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import quote, urlencode

STORE_PATH = os.environ.get("OTP_STORE", "/var/lib/otp/users.json")
DIGITS = 6
STEP_SECONDS = 30
NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,64}")
# Passwords of the users parameter cannot hold the separators , and :.
PASSWORD_PATTERN = re.compile(r"[^\s,:]{1,120}")
# 16 base32 characters are 80 bits: less than the 128 bits RFC 4226 requires, but
# common in existing authenticator setups. Generated secrets have 160 bits.
SECRET_PATTERN = re.compile(r"[A-Z2-7]{16,128}")
GENERATED_SECRET_BYTES = 20
# scrypt cost: 4 MiB of memory per check (128 * r * n bytes), small enough for the
# radius service, which runs up to 8 checks at once as separate processes.
SCRYPT = {"n": 2**12, "r": 8, "p": 1}


class UsersError(Exception):
    """A bad users value or request; the message names the value and the fix."""


@dataclass(frozen=True)
class CheckResult:
    accepted: bool
    reason: str


# TOTP.


def normalize_secret(secret: str) -> str:
    """Return ``secret`` in upper case without padding or spaces; raise UsersError when it is not base32."""
    value = secret.replace(" ", "").rstrip("=").upper()
    if not SECRET_PATTERN.fullmatch(value):
        raise UsersError(
            f"TOTP secret of {len(secret)} characters is not base32: use 16 to 128 characters from A-Z and 2-7"
        )
    return value


def generate_secret() -> str:
    return base64.b32encode(secrets.token_bytes(GENERATED_SECRET_BYTES)).decode("ascii").rstrip("=")


def totp_code(secret: str, step: int) -> str:
    """Return the code of time step ``step`` (Unix time divided by 30) as RFC 6238 computes it."""
    padded = secret + "=" * (-len(secret) % 8)
    key = base64.b32decode(padded, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**DIGITS).zfill(DIGITS)


def provisioning_uri(name: str, secret: str, issuer: str) -> str:
    """Return the otpauth:// URI that authenticator apps read from a QR code."""
    label = quote(f"{issuer}:{name}", safe="")
    query = urlencode({"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS, "period": STEP_SECONDS})
    return f"otpauth://totp/{label}?{query}"


# Passwords.


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), **SCRYPT)
    return hmac.compare_digest(candidate, bytes.fromhex(digest))


# The store.


@contextmanager
def locked_store(path: str = STORE_PATH) -> Iterator[dict]:
    """Yield the store's content under an exclusive lock and write it back when the block changed it."""
    with open(path + ".lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, encoding="utf-8") as file:
                data = json.load(file)
        except FileNotFoundError:
            data = {"issuer": "csdp", "users": {}}
        before = json.dumps(data, sort_keys=True)
        yield data
        if json.dumps(data, sort_keys=True) != before:
            _write_atomically(path, data)


def _write_atomically(path: str, data: dict) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(data, file, indent=1, sort_keys=True)
    os.replace(temporary, path)


def parse_users(text: str) -> list[tuple[str, str, str | None]]:
    """Parse "name:password[:SECRET],..." into (name, password, secret or None) tuples."""
    entries = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        fields = item.split(":")
        if len(fields) not in (2, 3):
            raise UsersError(
                f"users entry number {len(entries) + 1} has {len(fields)} fields; "
                "write name:password or name:password:BASE32SECRET"
            )
        name, password = fields[0], fields[1]
        check_name(name)
        if not PASSWORD_PATTERN.fullmatch(password):
            raise UsersError(
                f"password of user {name!r} is invalid: use 1 to 120 characters without spaces, commas or colons"
            )
        secret = normalize_secret(fields[2]) if len(fields) == 3 else None
        entries.append((name, password, secret))
    return entries


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise UsersError(f"user name {name!r} is invalid: use 1 to 64 characters from A-Z, a-z, 0-9 and . _ @ -")


def initialize(users_text: str, issuer: str, window: int = 1, path: str = STORE_PATH) -> tuple[list[str], bool]:
    """Create the store with the users of ``users_text``, generating missing secrets, unless it exists.

    ``window`` is the number of 30-second steps accepted either side of the
    current one. An existing store is kept as it is, so that a restarted
    container keeps its generated secrets, the users added at run time and
    the used codes. Returns the user names and whether the store was kept.
    """
    entries = parse_users(users_text)
    names = [name for name, _, _ in entries]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise UsersError(f"user {duplicates[0]!r} appears twice in users; keep one entry per name")
    with locked_store(path) as data:
        if data.get("initialized"):
            return sorted(data["users"]), True
        data["initialized"] = True
        data["issuer"] = issuer
        data["window"] = window
        data["users"] = {
            name: {"password": hash_password(password), "secret": secret or generate_secret(), "last_step": None}
            for name, password, secret in entries
        }
    return names, False


def add_user(name: str, password: str, secret: str | None = None, path: str = STORE_PATH) -> dict:
    """Add a user and return its name, secret and provisioning URI; raise UsersError when the name exists."""
    check_name(name)
    if not password or any(character.isspace() for character in password) or len(password) > 120:
        raise UsersError(f"password of user {name!r} is invalid: use 1 to 120 characters without spaces")
    secret = normalize_secret(secret) if secret else generate_secret()
    with locked_store(path) as data:
        if name in data["users"]:
            raise UsersError(f"user {name!r} already exists; choose another name")
        data["users"][name] = {"password": hash_password(password), "secret": secret, "last_step": None}
        issuer = data["issuer"]
    return {"name": name, "secret": secret, "uri": provisioning_uri(name, secret, issuer)}


def list_users(path: str = STORE_PATH) -> list[dict]:
    with locked_store(path) as data:
        issuer = data["issuer"]
        return [
            {"name": name, "secret": user["secret"], "uri": provisioning_uri(name, user["secret"], issuer)}
            for name, user in sorted(data["users"].items())
        ]


def user_exists(name: str, path: str = STORE_PATH) -> bool:
    with locked_store(path) as data:
        return name in data["users"]


def check(name: str, password_and_code: str, *, now: float | None = None, path: str = STORE_PATH) -> CheckResult:
    """Check the password followed by a 6-digit code; an accepted code's step is recorded so it never passes again.

    The reason is safe to log: it never contains the password or the code.
    """
    if len(password_and_code) <= DIGITS or not password_and_code[-DIGITS:].isdigit():
        return CheckResult(False, "the password is not followed by a 6-digit code")
    password, code = password_and_code[:-DIGITS], password_and_code[-DIGITS:]
    current = int((time.time() if now is None else now) // STEP_SECONDS)

    with locked_store(path) as data:
        user = data["users"].get(name)
        if user is None:
            return CheckResult(False, "unknown user")
        window = data.get("window", 1)
        if not password_matches(password, user["password"]):
            return CheckResult(False, "wrong password")
        step = next(
            (
                candidate
                for candidate in range(current - window, current + window + 1)
                if hmac.compare_digest(totp_code(user["secret"], candidate), code)
            ),
            None,
        )
        if step is None:
            return CheckResult(False, "wrong code")
        if user["last_step"] is not None and step <= user["last_step"]:
            return CheckResult(False, "code already used")
        user["last_step"] = step
    return CheckResult(True, "password and code accepted")


# Command line.


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    try:
        if command == "init":
            window = int(os.environ.get("OTP_WINDOW", "1"))
            names, store_kept = initialize(os.environ.get("OTP_USERS", ""), os.environ.get("OTP_ISSUER", "csdp"), window)
            origin = "kept from the previous start" if store_kept else "loaded"
            print(f"otp-users: {len(names)} users {origin}: {', '.join(names) or 'none'}", flush=True)
            return 0
        if command == "add" and len(argv) in (4, 5):
            print(json.dumps(add_user(argv[2], argv[3], argv[4] if len(argv) == 5 else None)))
            return 0
        if command == "list" and len(argv) == 2:
            print(json.dumps(list_users()))
            return 0
        if command == "check" and len(argv) == 2:
            return _check_from_environment()
    except UsersError as exc:
        print(f"otp-users: {exc}", file=sys.stderr)
        return 2
    print("usage: otp-users init | add NAME PASSWORD [SECRET] | list | check", file=sys.stderr)
    return 2


def _check_from_environment() -> int:
    """Check the user of a FreeRADIUS exec call and print the outcome as a request attribute.

    The exit code is 0 either way, because FreeRADIUS 3.2.1 logs a non-zero exit
    code (1 and 7 were tried) as an error. Its policy accepts only when
    Module-Success-Message is set.
    """
    name = _radius_value(os.environ.get("USER_NAME", ""))
    password = _radius_value(os.environ.get("USER_PASSWORD", ""))
    result = check(name, password)
    attribute = "Module-Success-Message" if result.accepted else "Module-Failure-Message"
    print(f'{attribute} := "otp: {result.reason}"')
    return 0


def _radius_value(value: str) -> str:
    """Return an attribute value as FreeRADIUS exec passes it, without the double quotes around strings."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


if __name__ == "__main__":
    sys.exit(main(sys.argv))
