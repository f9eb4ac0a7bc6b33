"""Helpers of the workflow integration tests."""

from __future__ import annotations

import time
from typing import Callable

import pytest


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.2, description: str = "condition"):
    """Return the first true value of ``predicate`` within ``timeout`` seconds, else fail the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{description} not reached within {timeout} s")
        time.sleep(interval)
