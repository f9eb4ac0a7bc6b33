"""Swagger UI renders in headless Chromium from files served by the API alone."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    # Names other than the loopback address resolve to nothing, so no request can leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def load_page(url: str, folder: Path) -> tuple[str, set[str]]:
    """Return the DOM of ``url`` after scripts ran, and every URL Chromium requested meanwhile."""
    folder.mkdir()
    net_log = folder / "net-log.json"
    page = subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}", f"--log-net-log={net_log}",
         "--virtual-time-budget=15000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert page.returncode == 0, page.stderr[-2000:]
    return page.stdout, set(re.findall(r'"url":"(https?://[^"]+)"', net_log.read_text()))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: apt-get install -y chromium")
def test_swagger_ui_renders_offline(api_url, tmp_path):
    dom, requested = load_page(f"{api_url}/api/v1/docs", tmp_path / "docs")
    # Chromium queries update and time servers by itself, even for a blank page; those are not the page's.
    _, browser_own = load_page("about:blank", tmp_path / "blank")

    # The operations are rendered: Swagger UI writes each path in an opblock.
    assert 'class="swagger-ui' in dom
    assert "opblock" in dom
    text = dom.replace("\u200b", "").replace("<wbr>", "")
    for path in ("/api/v1/services/{service}/start", "/api/v1/containers/{container_id}/files", "/api/v1/jobs/{job_id}/events"):
        assert path in text, path

    # The page and everything it loaded came from the API's own address.
    page_hosts = {urlsplit(url).netloc for url in requested} - {urlsplit(url).netloc for url in browser_own}
    assert page_hosts == {urlsplit(api_url).netloc}
    assert f"{api_url}/api/v1/openapi.json" in requested
    assert f"{api_url}/api/v1/static/docs/swagger-ui-bundle.js" in requested
    assert [url for url in re.findall(r'(?:src|href)="(https?://[^"]+)"', dom) if not url.startswith(api_url)] == []
