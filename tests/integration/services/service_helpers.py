"""Helpers for service tests that read container output."""

from __future__ import annotations

import time

from csdp.runtime.base import Runtime


def output_of(runtime: Runtime, container_id: str) -> str:
    """Return everything the container wrote to stdout and stderr so far."""
    return "\n".join(line.text for line in runtime.logs(container_id) if hasattr(line, "text"))


def wait_for_output(runtime: Runtime, container_id: str, text: str, timeout: float = 5.0) -> str:
    """Return the container output once it contains ``text``, or the output so far after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        output = output_of(runtime, container_id)
        if text in output or time.monotonic() > deadline:
            return output
        time.sleep(0.1)
