"""The csdp client: HTTP and AMQP only, no server packages.

Names load on first use so that importing the package stays cheap for the CLI.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Client": "csdp.client.client",
    "ClientConfig": "csdp.client.config",
    "load_config": "csdp.client.config",
    "ApiUnreachable": "csdp.client.errors",
    "JobFailed": "csdp.client.errors",
    "WaitTimeout": "csdp.client.errors",
    "microservices": "csdp.client.shortform",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'csdp.client' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
