"""The short form for test scripts: ``from csdp import microservices``.

``microservices.syslog.start_service(num=2)`` starts two replicas, waits for
the pushed result and returns ``{"containers": [...]}``. Service actions are
methods: ``microservices.webhook.requests()``. ``microservices.all`` acts on
every container of the caller.
"""

from __future__ import annotations

import threading
from typing import Any

from csdp.client.client import Client

# The keys of each container that scripts get; the API sends more.
CONTAINER_KEYS = ("id", "name", "service", "ip_address", "ipv6_address", "service_port", "status", "created")


def _summary(container: dict[str, Any]) -> dict[str, Any]:
    return {key: container.get(key) for key in CONTAINER_KEYS}


class ServiceHandle:
    """The common actions of one service, plus its own actions as methods."""

    def __init__(self, owner: Microservices, name: str) -> None:
        self._owner = owner
        self.name = name

    @property
    def _client(self) -> Client:
        return self._owner.client

    def show(self) -> dict[str, Any]:
        """Return ``{"containers": [...]}``: the caller's containers of this service."""
        return {"containers": [_summary(item) for item in self._client.show(self.name)]}

    def start_service(
        self, num: int = 1, *, ttl_seconds: int | None = None, email: str | None = None, **parameters: Any
    ) -> dict[str, Any]:
        """Start ``num`` replicas with service parameters as keywords; return ``{"containers": [...]}``."""
        record = self._client.start(self.name, num, parameters, ttl_seconds=ttl_seconds, email=email, wait=True)
        containers = (record.get("result") or {}).get("containers", [])
        return {"containers": [_summary(item) for item in containers]}

    def stop_service(self, container: str | None = None) -> dict[str, Any]:
        return self._result(self._client.stop(self.name, container, wait=True))

    def restart_service(self, container: str | None = None) -> dict[str, Any]:
        return self._result(self._client.restart(self.name, container, wait=True))

    def delete_service(self, container: str | None = None) -> dict[str, Any]:
        return self._result(self._client.delete(self.name, container, wait=True))

    def run_action(self, action: str, *, container: str | None = None, **parameters: Any) -> dict[str, Any]:
        """Run a service action and return ``{"outputs": [{"container", "exit_code", "output"}]}``."""
        record = self._client.action(self.name, action, parameters, container=container, wait=True)
        return record.get("result") or {}

    def schedule(
        self, action: str, *, at: str | None = None, cron: str | None = None, email: str | None = None, **parameters: Any
    ) -> dict[str, Any]:
        """Run ``action`` later on this service's containers, once ``at`` or on ``cron``; return the schedule."""
        return self._client.schedule(self.name, action, parameters, at=at, cron=cron, email=email)

    @staticmethod
    def _result(record: dict[str, Any]) -> dict[str, Any]:
        return record.get("result") or {"result": "success"}

    def __getattr__(self, action: str) -> Any:
        if action.startswith("_"):
            raise AttributeError(action)

        def run(*, container: str | None = None, **parameters: Any) -> dict[str, Any]:
            return self.run_action(action, container=container, **parameters)

        run.__name__ = action
        run.__doc__ = f"Run the {action!r} action of {self.name}; the API rejects an action the service lacks."
        return run

    def __repr__(self) -> str:
        return f"<csdp service {self.name}>"


class AllServices:
    """Every container of the caller, of any service."""

    def __init__(self, owner: Microservices) -> None:
        self._owner = owner

    def show(self) -> dict[str, Any]:
        return {"containers": [_summary(item) for item in self._owner.client.containers()]}

    def delete_service(self) -> dict[str, Any]:
        """Delete every container of the caller and return ``{"result": "success"}``."""
        record = self._owner.client.delete_all(wait=True)
        result = record.get("result") or {}
        return {"result": result.get("result", "success")}


class Microservices:
    """Services as attributes; the client is built from the config on first use."""

    def __init__(self, client: Client | None = None) -> None:
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Client:
        with self._lock:
            if self._client is None:
                self._client = Client.from_config()
            return self._client

    def use(self, client: Client) -> None:
        """Use ``client`` from now on, such as one with another token."""
        with self._lock:
            self._client = client

    @property
    def all(self) -> AllServices:
        return AllServices(self)

    def __getattr__(self, name: str) -> ServiceHandle:
        if name.startswith("_"):
            raise AttributeError(name)
        return ServiceHandle(self, name)

    def __dir__(self) -> list[str]:
        return ["all", "client", "use"]


microservices = Microservices()
