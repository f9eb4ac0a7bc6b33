"""Helpers of the CLI integration tests: run ``csdp`` as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CSDP = str(Path(sys.executable).with_name("csdp"))
COMMAND_TIMEOUT = 180


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """The ``csdp`` command with one user's environment."""

    env: dict[str, str]

    def __call__(self, *args: str, timeout: float = COMMAND_TIMEOUT, env: dict[str, str] | None = None) -> Result:
        completed = subprocess.run(
            [CSDP, *args], env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([CSDP, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def without(self, *names: str) -> Cli:
        return Cli({key: value for key, value in self.env.items() if key not in names})


def environment_without_csdp_client() -> dict[str, str]:
    """Return os.environ without the client's own variables, so a developer's login does not leak in."""
    client_keys = ("CSDP_URL", "CSDP_TOKEN", "CSDP_AMQP_URL", "CSDP_TIMEOUT")
    return {key: value for key, value in os.environ.items() if key not in client_keys}
