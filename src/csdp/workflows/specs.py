"""From manifests to runtime specs, and from runtime info to wire results."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import jinja2

from csdp.catalog import Catalog, Manifest, Service, load_catalog
from csdp.runtime.base import ContainerInfo, ContainerSpec, PortSpec, ReadinessSpec
from csdp.settings import get_settings

SECRET_MASK = "***"


@lru_cache(maxsize=1)
def get_catalog() -> Catalog:
    """Return the catalog of built-in services plus ``CSDP_SERVICES_PATH``, loaded once per process."""
    return load_catalog(get_settings().services_path)


def mask_secrets(manifest_parameters: list, values: dict[str, Any]) -> dict[str, Any]:
    """Return ``values`` with every secret parameter's value replaced by ``***``, for records and logs."""
    secret = {parameter.name for parameter in manifest_parameters if parameter.type == "secret"}
    return {name: (SECRET_MASK if name in secret and value is not None else value) for name, value in values.items()}


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_spec(
    service: Service,
    *,
    owner: str,
    job_id: str,
    replica: int,
    parameters: dict[str, Any],
    expires_at: datetime | None,
) -> ContainerSpec:
    """Return the spec of one replica: image, parameters as environment, rendered templates, limits.

    ``parameters`` must already be checked with ``csdp.catalog.check_parameters``.
    """
    manifest = service.manifest
    settings = get_settings()

    environment = {}
    for parameter in manifest.parameters:
        if parameter.env and parameter.name in parameters:
            environment[parameter.env] = _env_value(parameters[parameter.name])

    files = {}
    if manifest.templates:
        loader = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(service.folder)), undefined=jinja2.StrictUndefined, autoescape=False
        )
        context = {"parameters": parameters, "replica": replica, "job_id": job_id, **parameters}
        for template in manifest.templates:
            files[template.path] = loader.get_template(template.template).render(context).encode("utf-8")

    return ContainerSpec(
        service=manifest.name,
        owner=owner,
        job_id=job_id,
        replica=replica,
        image=manifest.image_name(settings.image_prefix),
        environment=environment,
        command=tuple(manifest.command) if manifest.command else None,
        ports=tuple(PortSpec(port.port, port.protocol, port.description) for port in manifest.ports),
        memory=manifest.resources.memory,
        pids=manifest.resources.pids,
        shm_size=manifest.resources.shm_size,
        capabilities=tuple(manifest.capabilities),
        expires_at=expires_at,
        files=files,
    )


def readiness_of(manifest: Manifest) -> ReadinessSpec:
    """Return the runtime form of the manifest's readiness check."""
    readiness = manifest.readiness
    return ReadinessSpec(
        kind=readiness.kind,
        port=readiness.port,
        protocol=readiness.protocol,
        command=tuple(readiness.command) if readiness.command else None,
        pattern=readiness.pattern,
        timeout_seconds=readiness.timeout_seconds,
    )


def expiry(ttl_seconds: int) -> str:
    """Return the ISO time ``ttl_seconds`` from now, the form that travels in task messages."""
    return (datetime.now(timezone.utc) + timedelta(seconds=ttl_seconds)).isoformat()


def container_out(info: ContainerInfo) -> dict[str, Any]:
    """Return ``info`` as a JSON-ready dict shaped like ``wire.ContainerOut``."""
    return {
        "id": info.id,
        "name": info.name,
        "service": info.service,
        "owner": info.owner,
        "job_id": info.job_id,
        "replica": info.replica,
        "ip_address": info.ip_address,
        "ipv6_address": info.ipv6_address,
        "service_port": info.service_port,
        "ports": [{"port": port.port, "protocol": port.protocol, "description": port.description} for port in info.ports],
        "status": info.status,
        "created": info.created.isoformat(),
        "expires_at": info.expires_at.isoformat() if info.expires_at else None,
    }
