"""Labels written on containers, and ContainerInfo read back from them."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from csdp.runtime.base import (
    DEFAULT_DEPLOYMENT,
    LABEL_CREATED,
    LABEL_DEPLOYMENT,
    LABEL_EXPIRES,
    LABEL_JOB,
    LABEL_MANAGED,
    LABEL_OWNER,
    LABEL_PREFIX,
    LABEL_REPLICA,
    LABEL_SERVICE,
    ContainerInfo,
    ContainerSpec,
    PortSpec,
)

# The spec's ports as a JSON list, so that info and list need no catalog lookup.
LABEL_PORTS = LABEL_PREFIX + "ports"

_EXITED = re.compile(r"Exited \((-?\d+)\)")


def build_labels(spec: ContainerSpec, created: datetime, deployment: str = DEFAULT_DEPLOYMENT) -> dict[str, str]:
    """Return the labels of a new container; ``created`` and the expiry are ISO 8601 times in UTC."""
    labels = {
        LABEL_MANAGED: "true",
        LABEL_DEPLOYMENT: deployment,
        LABEL_OWNER: spec.owner,
        LABEL_SERVICE: spec.service,
        LABEL_JOB: spec.job_id,
        LABEL_REPLICA: str(spec.replica),
        LABEL_CREATED: created.astimezone(timezone.utc).isoformat(),
        LABEL_PORTS: json.dumps([_port_dict(port) for port in spec.ports]),
    }
    if spec.expires_at is not None:
        labels[LABEL_EXPIRES] = _as_utc(spec.expires_at).isoformat()
    return labels


def deployment_of(labels: dict[str, str]) -> str:
    """Return the deployment a container belongs to; containers created before the label belong to the default one."""
    return labels.get(LABEL_DEPLOYMENT) or DEFAULT_DEPLOYMENT


def info_from_inspect(attrs: dict[str, Any], network: str) -> ContainerInfo:
    """Build ContainerInfo from the engine's inspect response for one container."""
    state = attrs.get("State") or {}
    status = state.get("Status", "unknown")
    exit_code = state.get("ExitCode") if status in ("exited", "dead") else None
    return _info(
        container_id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        labels=(attrs.get("Config") or {}).get("Labels") or {},
        endpoint=_endpoint(attrs, network),
        status=status,
        exit_code=exit_code,
        created_fallback=attrs.get("Created"),
    )


def info_from_summary(summary: dict[str, Any], network: str) -> ContainerInfo:
    """Build ContainerInfo from one entry of the engine's container list."""
    status = summary.get("State", "unknown")
    match = _EXITED.search(summary.get("Status", ""))
    names = summary.get("Names") or [""]
    return _info(
        container_id=summary["Id"],
        name=names[0].lstrip("/"),
        labels=summary.get("Labels") or {},
        endpoint=_endpoint(summary, network),
        status=status,
        exit_code=int(match.group(1)) if match and status == "exited" else None,
        created_fallback=summary.get("Created"),
    )


def ports_from_label(value: str | None) -> tuple[PortSpec, ...]:
    """Return the ports stored in the ports label; a missing or unreadable label gives none."""
    if not value:
        return ()
    try:
        items = json.loads(value)
        return tuple(PortSpec(int(item["port"]), item.get("protocol", "tcp"), item.get("description", "")) for item in items)
    except (ValueError, TypeError, KeyError):
        return ()


def _info(
    *,
    container_id: str,
    name: str,
    labels: dict[str, str],
    endpoint: dict[str, Any],
    status: str,
    exit_code: int | None,
    created_fallback: Any,
) -> ContainerInfo:
    return ContainerInfo(
        id=container_id,
        name=name,
        service=labels.get(LABEL_SERVICE, ""),
        owner=labels.get(LABEL_OWNER, ""),
        job_id=labels.get(LABEL_JOB, ""),
        replica=_int(labels.get(LABEL_REPLICA)),
        ip_address=endpoint.get("IPAddress") or None,
        ipv6_address=endpoint.get("GlobalIPv6Address") or None,
        ports=ports_from_label(labels.get(LABEL_PORTS)),
        status=status,
        created=_parse_time(labels.get(LABEL_CREATED)) or _parse_engine_created(created_fallback),
        expires_at=_parse_time(labels.get(LABEL_EXPIRES)),
        exit_code=exit_code,
    )


def _endpoint(attrs: dict[str, Any], network: str) -> dict[str, Any]:
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    return networks.get(network) or {}


def _port_dict(port: PortSpec) -> dict[str, Any]:
    return {"port": port.port, "protocol": port.protocol, "description": port.description}


def _int(value: str | None) -> int:
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return _as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _parse_engine_created(value: Any) -> datetime:
    """Parse the engine's creation time: seconds in a list entry, RFC 3339 with nanoseconds in inspect."""
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        return parse_engine_time(value)
    return datetime.fromtimestamp(0, tz=timezone.utc)


def parse_engine_time(value: str) -> datetime:
    """Parse an RFC 3339 time with up to nine fraction digits, as the engine writes them, to UTC."""
    text = value.strip().replace("Z", "+00:00")
    match = re.match(r"^(.*?T\d\d:\d\d:\d\d)(\.\d+)?(.*)$", text)
    if match:
        fraction = (match.group(2) or "")[:7]
        text = match.group(1) + fraction + (match.group(3) or "")
    return _as_utc(datetime.fromisoformat(text))
