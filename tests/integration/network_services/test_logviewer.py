"""The logviewer service: the noVNC page, and uploaded log files opened in glogg on the display."""

from __future__ import annotations

import json
import urllib.request

import pytest

from csdp.catalog import check_parameters
from csdp.errors import InvalidInput, NotFound
from csdp.runtime.archive import single_file_tar

pytestmark = pytest.mark.integration

UPLOADS = "/home/viewer/uploads"
LOG_TEXT = "".join(f"2024-05-01T12:00:{second:02d}Z app[42]: request {second} served\n" for second in range(60)).encode()


def http_url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path}"


def glogg_processes(runtime, container_id: str) -> list[str]:
    listing = runtime.exec(container_id, ["ps", "-o", "pid=,args=", "-C", "glogg"], timeout=10)
    return [line.strip() for line in listing.stdout.decode().splitlines() if line.strip()]


def test_novnc_page(start_service):
    viewer = start_service("logviewer")
    for address in (viewer.ip_address, viewer.ipv6_address):
        with urllib.request.urlopen(http_url(address, 6080, "/vnc.html"), timeout=10) as page:
            assert page.status == 200
            assert b"noVNC" in page.read()


def test_open_uploaded_log(start_service, run_action, runtime, owner):
    viewer = start_service("logviewer")
    runtime.put_files(viewer.id, UPLOADS, single_file_tar("app.log", LOG_TEXT))

    listing = run_action(viewer, "uploads")
    assert json.loads(listing.stdout) == {"path": f"{UPLOADS}/app.log", "bytes": len(LOG_TEXT)}

    result = run_action(viewer, "open", {"path": f"{UPLOADS}/app.log"})
    assert result.exit_code == 0, result.stderr.decode()
    opened = json.loads(result.stdout)
    assert opened["path"] == f"{UPLOADS}/app.log"
    assert opened["live_view"] == f"http://{viewer.ip_address}:6080/vnc.html?autoconnect=1&resize=scale"

    assert glogg_processes(runtime, viewer.id) == [f"{opened['pid']} glogg -m {UPLOADS}/app.log"]
    descriptors = runtime.exec(viewer.id, ["find", f"/proc/{opened['pid']}/fd", "-lname", f"{UPLOADS}/app.log"], timeout=10)
    assert descriptors.stdout.strip(), "glogg does not hold the file open"

    # Deleting the container leaves nothing of it.
    runtime.remove(viewer.id)
    with pytest.raises(NotFound):
        runtime.info(viewer.id)
    assert runtime.list(owner=owner) == []


def test_open_rejects_other_paths(start_service, run_action, runtime, catalog):
    viewer = start_service("logviewer")
    action = catalog.get("logviewer").manifest.action("open")

    with pytest.raises(InvalidInput):
        check_parameters(action.parameters, {"path": "/etc/passwd"})

    outside = run_action(viewer, "open", {"path": f"{UPLOADS}/../.bashrc"})
    assert outside.exit_code == 2
    assert "is outside /home/viewer/uploads" in outside.stderr.decode()
    missing = run_action(viewer, "open", {"path": f"{UPLOADS}/missing.log"})
    assert missing.exit_code == 2
    assert "is not a file" in missing.stderr.decode()
    assert glogg_processes(runtime, viewer.id) == []
