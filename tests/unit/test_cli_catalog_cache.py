"""The on-disk catalog cache of the CLI."""

from __future__ import annotations

import json
import os
import time

import pytest
from test_cli_service_commands import SYSLOG, cli  # noqa: F401  (fixture)
from test_client_http import fake_api  # noqa: F401  (fixture)

from csdp.cli.catalog_cache import CatalogCache, cache_path, read_cache, write_cache
from csdp.errors import NotFound

WEBHOOK = dict(SYSLOG, name="webhook", summary="HTTP endpoint that records requests", actions=[], parameters=[])


class CountingFetch:
    def __init__(self, *answers: list[dict]) -> None:
        self.answers = list(answers)
        self.count = 0

    def __call__(self) -> list[dict]:
        self.count += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_cache_is_used_while_fresh(tmp_path):
    path = tmp_path / "catalog.json"
    fetch = CountingFetch([SYSLOG])

    CatalogCache("http://a", fetch, path=path).get("syslog")
    CatalogCache("http://a", fetch, path=path).get("syslog")

    assert fetch.count == 1
    assert json.loads(path.read_text())["url"] == "http://a"


def test_stale_cache_is_refreshed(tmp_path):
    path = tmp_path / "catalog.json"
    write_cache("http://a", [SYSLOG], path=path)
    old = json.loads(path.read_text())
    old["fetched_at"] = time.time() - 3600
    path.write_text(json.dumps(old))
    fetch = CountingFetch([SYSLOG, WEBHOOK])

    names = CatalogCache("http://a", fetch, path=path).names()

    assert fetch.count == 1
    assert names == ["syslog", "webhook"]


def test_cache_of_other_url_is_ignored(tmp_path):
    path = tmp_path / "catalog.json"
    write_cache("http://other", [SYSLOG], path=path)

    assert read_cache("http://a", path=path) is None


def test_unknown_service_refreshes_once(tmp_path):
    path = tmp_path / "catalog.json"
    write_cache("http://a", [SYSLOG], path=path)
    fetch = CountingFetch([SYSLOG, WEBHOOK])

    service = CatalogCache("http://a", fetch, path=path).get("webhook")

    assert service["name"] == "webhook"
    assert fetch.count == 1


def test_unknown_service_lists_known(tmp_path):
    fetch = CountingFetch([SYSLOG])

    with pytest.raises(NotFound) as caught:
        CatalogCache("http://a", fetch, path=tmp_path / "catalog.json").get("nosuch")

    assert caught.value.message == "service 'nosuch' is not in the catalog of http://a; known services: syslog"
    assert fetch.count == 1


def test_unwritable_cache_is_not_fatal(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")

    CatalogCache("http://a", CountingFetch([SYSLOG]), path=blocker / "catalog.json").get("syslog")


def test_cli_fetches_catalog_once(cli, fake_api):
    fake_api.route("GET", "/containers", [])

    cli("syslog", "show")
    cli("syslog", "show")

    assert len(fake_api.calls("GET", "/services")) == 1
    assert cache_path().is_file()
    assert cache_path() == cache_path().parent / "catalog.json"
    assert str(cache_path()).startswith(os.environ["XDG_CACHE_HOME"])


def test_cli_sees_new_service_without_update(cli, fake_api):
    fake_api.route("GET", "/containers", [])
    cli("syslog", "show")
    fake_api.route("GET", "/services", [SYSLOG, WEBHOOK])

    code, out, err = cli("webhook", "show")

    assert code == 0
    assert len(fake_api.calls("GET", "/services")) == 2
