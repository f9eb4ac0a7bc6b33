"""Defaults shared by the deploy commands and modules; importing this needs no server dependency."""

from pathlib import Path

DEFAULT_STATE_DIR = Path("/var/lib/csdp/deploy")
DEFAULT_PROJECT = "csdp"
