"""Files the platform adds to a container spec: the csdp client package and a client config with an owner token.

Services ask for them in their manifest (``inject_client``, ``inject_owner_token``),
so a test runner inside a container can use the API as its owner. Nothing of
this goes into labels, the environment or the logs except the config folder.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone
from pathlib import Path

from csdp.catalog import Manifest
from csdp.runtime.base import ContainerSpec
from csdp.runtime.names import container_name
from csdp.settings import get_settings
from csdp.workflows.container_tokens import issue_token

CLIENT_LIB = "/opt/csdp/lib"
CONFIG_HOME = "/run/csdp/config"
# The modules the client imports: it never imports the server packages.
CLIENT_MODULES = ("__init__.py", "errors.py", "wire.py", "client/*.py")
# A token lives this much longer than its container, so it never ends first.
TOKEN_MARGIN_SECONDS = 60


def client_files() -> dict[str, bytes]:
    """Return the csdp client modules by their path under ``CLIENT_LIB``."""
    package = Path(__file__).resolve().parent.parent
    files = {}
    for pattern in CLIENT_MODULES:
        for path in sorted(package.glob(pattern)):
            files[f"{CLIENT_LIB}/csdp/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    return files


def client_config(url: str, token: str) -> bytes:
    # JSON string escapes are a subset of TOML basic strings.
    return f"url = {json.dumps(url)}\ntoken = {json.dumps(token)}\n".encode("utf-8")


def add_injections(manifest: Manifest, spec: ContainerSpec) -> ContainerSpec:
    """Return ``spec`` with the client package and an owner config added, as the manifest requests.

    Each call issues a new owner token and revokes the container's earlier one.
    """
    if not manifest.inject_client and not manifest.inject_owner_token:
        return spec
    files = dict(spec.files)
    environment = dict(spec.environment)
    if manifest.inject_client:
        files.update(client_files())
    if manifest.inject_owner_token:
        settings = get_settings()
        if spec.expires_at is not None:
            lifetime = (spec.expires_at - datetime.now(timezone.utc)).total_seconds()
        else:
            lifetime = settings.max_ttl_seconds
        name = container_name(spec.service, spec.owner, spec.job_id, spec.replica)
        token = issue_token(spec.owner, name, int(lifetime) + TOKEN_MARGIN_SECONDS)
        url = settings.container_api_url or settings.public_url
        files[f"{CONFIG_HOME}/csdp/config.toml"] = client_config(url, token)
        environment["XDG_CONFIG_HOME"] = CONFIG_HOME
    return dataclasses.replace(spec, files=files, environment=environment)
