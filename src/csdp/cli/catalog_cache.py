"""The service catalog of the API, cached on disk so the CLI builds its commands without a request.

The cache (``~/.cache/csdp/catalog.json``) records the API URL it came from.
It is fetched again when it is older than ``MAX_AGE_SECONDS``, when the URL
changes or when a service name is not in it. So a newly published service
shows up without a client update.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable

from csdp.errors import NotFound

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 300

Fetch = Callable[[], list[dict[str, Any]]]


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "csdp" / "catalog.json"


def read_cache(url: str, *, path: Path | None = None, max_age: float = MAX_AGE_SECONDS) -> list[dict[str, Any]] | None:
    """Return the cached services of ``url``, or None when the cache is missing, stale or of another API."""
    path = path or cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("url") != url:
        return None
    if time.time() - float(data.get("fetched_at", 0)) > max_age:
        return None
    services = data.get("services")
    return services if isinstance(services, list) else None


def write_cache(url: str, services: list[dict[str, Any]], *, path: Path | None = None) -> None:
    path = path or cache_path()
    data = {"url": url, "fetched_at": time.time(), "services": services}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        # The cache only saves a request; the command works without it.
        log.warning("cannot write the catalog cache %s: %s", path, exc)


class CatalogCache:
    """Services of one API, read from the cache or fetched when needed."""

    def __init__(self, url: str, fetch: Fetch, *, path: Path | None = None, max_age: float = MAX_AGE_SECONDS) -> None:
        self.url = url
        self._fetch = fetch
        self._path = path
        self._max_age = max_age
        self._services: list[dict[str, Any]] | None = None
        self.fetched = False

    def services(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        if refresh and not self.fetched:
            self._services = None
        if self._services is None and not refresh:
            self._services = read_cache(self.url, path=self._path, max_age=self._max_age)
        if self._services is None:
            self._services = self._fetch()
            self.fetched = True
            write_cache(self.url, self._services, path=self._path)
        return self._services

    def names(self) -> list[str]:
        return sorted(service["name"] for service in self.services())

    def get(self, name: str) -> dict[str, Any]:
        """Return the service called ``name``, fetching the catalog again once if it is unknown."""
        found = self._find(self.services(), name)
        if found is None and not self.fetched:
            found = self._find(self.services(refresh=True), name)
        if found is None:
            known = ", ".join(self.names()) or "none"
            raise NotFound(
                f"service {name!r} is not in the catalog of {self.url}; known services: {known}", field="service"
            )
        return found

    @staticmethod
    def _find(services: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
        return next((service for service in services if service.get("name") == name), None)
