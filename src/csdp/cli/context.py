"""The command context: the config, the client and the catalog cache, each built on first use."""

from __future__ import annotations

from typing import Any

from csdp.cli.catalog_cache import CatalogCache
from csdp.client.client import Client
from csdp.client.config import ClientConfig, load_config


class Context:
    def __init__(self, *, url: str | None = None, token: str | None = None) -> None:
        self._url = url
        self._token = token
        self._config: ClientConfig | None = None
        self._client: Client | None = None
        self._catalog: CatalogCache | None = None

    @property
    def config(self) -> ClientConfig:
        if self._config is None:
            self._config = load_config(url=self._url, token=self._token)
        return self._config

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client.from_config(self.config)
        return self._client

    @property
    def catalog(self) -> CatalogCache:
        if self._catalog is None:
            self._catalog = CatalogCache(self.config.url, self.client.services)
        return self._catalog

    def service(self, name: str) -> dict[str, Any]:
        return self.catalog.get(name)
