"""TOTP codes for the radius and tacacs tests."""

from __future__ import annotations

import time

import pyotp


def wrong_code(secret: str) -> str:
    """Return a 6-digit code that no 30-second step within two of the current one produces."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    valid = {totp.at(now + 30 * offset) for offset in range(-2, 3)}
    candidate = int(totp.at(now))
    while f"{candidate:06d}" in valid:
        candidate = (candidate + 1) % 1_000_000
    return f"{candidate:06d}"
