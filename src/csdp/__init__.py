"""csdp: disposable test services on demand."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Loaded on first use so that `import csdp` stays cheap for the CLI and the server.
    if name == "microservices":
        from csdp.client.shortform import microservices

        return microservices
    raise AttributeError(f"module 'csdp' has no attribute {name!r}")
