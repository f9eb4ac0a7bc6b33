"""The settings file of a deployment: generated secrets and the ``CSDP_*`` settings of the stack.

One file serves twice: docker-compose reads it with ``--env-file`` to fill in
the compose file, and the platform containers get it through ``env_file``. It
contains passwords, so it is written with mode 0600.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from csdp.errors import InvalidInput
from csdp.settings import Settings

log = logging.getLogger(__name__)

ENV_FILE_NAME = "csdp.env"
ADMIN_TOKEN_FILE_NAME = "admin.token"
DEFAULT_HTTP_PORT = 8080
DEFAULT_FLOWER_PORT = 5555
DEFAULT_BIND = "0.0.0.0"
RABBITMQ_USER = "csdp"
SECRET_BYTES = 24
# Generated once and kept across runs: RabbitMQ and Redis store them in their volumes.
SECRET_KEYS = ("CSDP_RABBITMQ_PASSWORD", "CSDP_REDIS_PASSWORD", "CSDP_FLOWER_PASSWORD")
# The stack sets these itself because they name places inside its own network
# and containers; a value from the operator's shell would point elsewhere.
STACK_KEYS = frozenset({"CSDP_BROKER_URL", "CSDP_REDIS_URL", "CSDP_STAGING_DIR", "CSDP_DOCKER_HOST"})
# Variables of the compose file and the gunicorn config, besides the Settings fields.
DEPLOY_PREFIXES = ("CSDP_DEPLOY_", "CSDP_API_", "CSDP_WORKER_")
HEADER = (
    "# Settings of the csdp compose stack, written by `csdp deploy up`.\n"
    "# It contains passwords: keep it mode 0600. Values set in the environment of\n"
    "# `csdp deploy up` replace the ones here; the passwords are kept.\n"
)


@dataclass(frozen=True)
class DeployPaths:
    """Folder of a deployment's files and the name of its compose project."""

    state_dir: Path
    project: str

    @property
    def env_file(self) -> Path:
        return self.state_dir / ENV_FILE_NAME

    @property
    def admin_token_file(self) -> Path:
        return self.state_dir / ADMIN_TOKEN_FILE_NAME


def read_env_file(path: Path) -> dict[str, str]:
    """Return the ``KEY=value`` lines of ``path``; a missing file gives an empty dict."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if not separator or not key.strip():
            raise InvalidInput(f"{path} line {number} is not KEY=value: {line[:40]!r}; fix or remove the line")
        values[key.strip()] = value.strip()
    return values


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600, replacing the file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write ``values`` as a settings file with mode 0600."""
    for key, value in values.items():
        if "\n" in value:
            raise InvalidInput(f"setting {key} contains a line break; give it on one line")
    lines = [f"{key}={values[key]}" for key in sorted(values)]
    write_private_file(path, HEADER + "\n".join(lines) + "\n")


def _settings_keys() -> set[str]:
    return {f"CSDP_{name.upper()}" for name in Settings.model_fields}


def operator_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the ``CSDP_*`` platform and deploy settings of ``environ``, without the ones the stack sets."""
    known = _settings_keys()
    return {
        key: value
        for key, value in environ.items()
        if key not in STACK_KEYS and (key in known or key.startswith(DEPLOY_PREFIXES))
    }


def stack_values(
    paths: DeployPaths,
    environ: Mapping[str, str],
    *,
    http_port: int | None = None,
    flower_port: int | None = None,
) -> dict[str, str]:
    """Return the settings of the stack: the file's values, then the environment's, then options and secrets.

    Missing secrets are generated. The broker and Redis URLs are built from
    the passwords, so they always match the accounts in the volumes.
    """
    values = read_env_file(paths.env_file)
    kept_secrets = {key: values[key] for key in SECRET_KEYS if values.get(key)}
    values.update(operator_settings(environ))
    values.update(kept_secrets)
    for key in SECRET_KEYS:
        if not values.get(key):
            values[key] = secrets.token_hex(SECRET_BYTES)
            log.info("generated %s for deployment %s", key, paths.project)

    if http_port is not None:
        values["CSDP_DEPLOY_HTTP_PORT"] = str(http_port)
    if flower_port is not None:
        values["CSDP_DEPLOY_FLOWER_PORT"] = str(flower_port)
    values.setdefault("CSDP_DEPLOY_HTTP_PORT", str(DEFAULT_HTTP_PORT))
    values.setdefault("CSDP_DEPLOY_FLOWER_PORT", str(DEFAULT_FLOWER_PORT))
    values.setdefault("CSDP_DEPLOY_BIND", DEFAULT_BIND)
    values.setdefault("CSDP_NETWORK_NAME", Settings.model_fields["network_name"].default)
    values.setdefault("CSDP_PUBLIC_URL", f"http://{socket.getfqdn()}:{values['CSDP_DEPLOY_HTTP_PORT']}")

    values["CSDP_DEPLOY_ENV_FILE"] = str(paths.env_file)
    values["CSDP_RABBITMQ_USER"] = RABBITMQ_USER
    values["CSDP_BROKER_URL"] = f"amqp://{RABBITMQ_USER}:{values['CSDP_RABBITMQ_PASSWORD']}@rabbitmq:5672//"
    values["CSDP_REDIS_URL"] = f"redis://:{values['CSDP_REDIS_PASSWORD']}@redis:6379/0"
    return values


def settings_from(values: Mapping[str, str]) -> Settings:
    """Return the platform settings that the stack's containers will read from ``values``."""
    known = _settings_keys()
    fields = {key[len("CSDP_"):].lower(): value for key, value in values.items() if key in known}
    try:
        return Settings(**fields)
    except ValueError as exc:
        raise InvalidInput(f"the deployment settings are invalid: {exc}") from exc
