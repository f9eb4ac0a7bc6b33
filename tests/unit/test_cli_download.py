"""``csdp <service> files download`` into local paths that cannot be written."""

from __future__ import annotations

from test_cli_service_commands import cli, tar_of  # noqa: F401  (fixture)
from test_client_http import Reply, fake_api  # noqa: F401  (fixture)
from test_client_shortform import CONTAINER


def test_download_to_missing_folder_exits_2(cli, fake_api, tmp_path):
    fake_api.route("GET", "/containers", [CONTAINER])
    missing = tmp_path / "no" / "such"

    code, out, err = cli("syslog", "files", "download", "/var/log/messages.log", "--out", str(missing / "copy.log"))

    assert code == 2
    assert f"local folder '{missing}' of --out does not exist" in err
    assert "Traceback" not in err
    assert fake_api.calls("GET", f"/containers/{CONTAINER['id']}/files") == []


def test_download_onto_directory_exits_2(cli, fake_api, tmp_path):
    fake_api.route("GET", "/containers", [CONTAINER])
    fake_api.route(
        "GET",
        f"/containers/{CONTAINER['id']}/files",
        Reply(content_type="application/x-tar", body=tar_of({"messages.log": b"line\n"})),
    )

    code, out, err = cli("syslog", "files", "download", "/var/log/messages.log", "--out", str(tmp_path))

    assert code == 2
    assert f"cannot write local file '{tmp_path}'" in err
