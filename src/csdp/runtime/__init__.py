"""Container runtime: the only package that talks to the container engine."""

from __future__ import annotations

from functools import lru_cache

from csdp.runtime.base import (
    ContainerInfo,
    ContainerSpec,
    ExecOutput,
    ExecResult,
    LogEnd,
    LogLine,
    PortSpec,
    ReadinessSpec,
    Runtime,
)

__all__ = [
    "ContainerInfo",
    "ContainerSpec",
    "ExecOutput",
    "ExecResult",
    "LogEnd",
    "LogLine",
    "PortSpec",
    "ReadinessSpec",
    "Runtime",
    "get_runtime",
]


@lru_cache(maxsize=1)
def get_runtime() -> Runtime:
    """Return the process-wide runtime backend (Docker for now)."""
    from csdp.runtime.docker_backend import DockerRuntime
    from csdp.settings import get_settings

    return DockerRuntime(get_settings())
