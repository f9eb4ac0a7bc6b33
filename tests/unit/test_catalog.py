"""Catalog loading: the built-in services load, and a bad manifest names the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from csdp.catalog import check_parameters, load_catalog, load_manifest
from csdp.catalog.manifest import Parameter
from csdp.errors import InvalidInput, ManifestError

GOOD_MANIFEST = """\
name: demo
summary: a demo service
ports:
  - port: 8080
    description: HTTP
"""


def write_service(root: Path, folder: str, manifest: str, *, dockerfile: bool = True) -> Path:
    service = root / folder
    service.mkdir(parents=True)
    (service / "service.yaml").write_text(manifest)
    if dockerfile:
        (service / "Dockerfile").write_text("ARG BASE_IMAGE=csdp/debian:bookworm\nFROM ${BASE_IMAGE}\n")
    return service / "service.yaml"


def load_error(tmp_path: Path) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        load_catalog([tmp_path])
    return caught.value


def test_builtin_services_load():
    catalog = load_catalog()

    assert {"syslog", "snmptrapd", "webhook"} <= set(catalog.names())


def test_extra_folder_loads(tmp_path):
    write_service(tmp_path, "demo", GOOD_MANIFEST)

    catalog = load_catalog([tmp_path])

    assert catalog.get("demo").manifest.ports[0].port == 8080


def test_manifest_wrong_type(tmp_path):
    path = write_service(tmp_path, "demo", GOOD_MANIFEST.replace("port: 8080", "port: eighty"))

    error = load_error(tmp_path)

    assert str(path) in error.message
    assert error.field == "ports.0.port"
    assert "valid integer" in error.message


def test_manifest_unknown_field(tmp_path):
    path = write_service(tmp_path, "demo", GOOD_MANIFEST + "privileged: true\n")

    error = load_error(tmp_path)

    assert str(path) in error.message
    assert error.field == "privileged"
    assert "not permitted" in error.message


def test_manifest_capability_sys_admin(tmp_path):
    path = write_service(tmp_path, "demo", GOOD_MANIFEST + "capabilities: [NET_BIND_SERVICE, SYS_ADMIN]\n")

    error = load_error(tmp_path)

    assert str(path) in error.message
    assert error.field == "capabilities"
    assert "'SYS_ADMIN' is not allowed" in error.message
    assert "remove it" in error.message


def test_manifest_name_differs_from_folder(tmp_path):
    path = write_service(tmp_path, "other", GOOD_MANIFEST)

    error = load_error(tmp_path)

    assert str(path) in error.message
    assert error.field == "name"
    assert "'demo' differs from the folder name 'other'" in error.message
    assert "make them equal" in error.message


def test_manifest_missing_dockerfile(tmp_path):
    path = write_service(tmp_path, "demo", GOOD_MANIFEST, dockerfile=False)

    error = load_error(tmp_path)

    assert str(path) in error.message
    assert error.field == "image"
    assert "no Dockerfile" in error.message
    assert "add one of them" in error.message


def test_manifest_missing_template(tmp_path):
    manifest = GOOD_MANIFEST + "templates:\n  - template: demo.conf.j2\n    path: /etc/demo.conf\n"
    path = write_service(tmp_path, "demo", manifest)

    error = load_error(tmp_path)

    assert str(path) in error.message
    assert error.field == "templates"
    assert "add the file" in error.message


def test_manifest_not_mapping(tmp_path):
    path = write_service(tmp_path, "demo", "- just\n- a list\n")

    error = load_error(tmp_path)

    assert str(path) in error.message
    assert "mapping" in error.message


def test_manifest_builtin_name_redefined(tmp_path):
    write_service(tmp_path, "syslog", GOOD_MANIFEST.replace("name: demo", "name: syslog"))

    error = load_error(tmp_path)

    assert error.field == "name"
    assert "already defined" in error.message


def test_missing_extra_folder(tmp_path):
    missing = tmp_path / "nowhere"

    error = load_error(missing)

    assert str(missing) in error.message
    assert "CSDP_SERVICES_PATH" in error.message


@pytest.mark.parametrize("community", ["public", "s3cret.v2", "a_b-c"])
def test_snmptrapd_community_accepted(community):
    parameters = load_catalog().get("snmptrapd").manifest.parameters

    assert check_parameters(parameters, {"community": community}) == {"community": community}


@pytest.mark.parametrize("community", ["", "with space", "semi;colon", "quote'", "x" * 33, "new\nline"])
def test_snmptrapd_community_rejected(community):
    parameters = load_catalog().get("snmptrapd").manifest.parameters

    with pytest.raises(InvalidInput) as caught:
        check_parameters(parameters, {"community": community})

    assert caught.value.field == "parameters.community"


def test_snmptrapd_community_default():
    parameters = load_catalog().get("snmptrapd").manifest.parameters

    assert check_parameters(parameters, {}) == {"community": "public"}


@pytest.mark.parametrize("status", [99, 600, "200", True])
def test_webhook_status_rejected(status):
    parameters = load_catalog().get("webhook").manifest.parameters

    with pytest.raises(InvalidInput):
        check_parameters(parameters, {"status_code": status})


def test_webhook_actions_declared():
    manifest = load_catalog().get("webhook").manifest

    assert manifest.action("requests").output == "jsonl"
    assert manifest.action("clear") is not None


def test_builtin_capabilities_minimal():
    for service in load_catalog():
        assert set(service.manifest.capabilities) <= {"NET_BIND_SERVICE"}, service.name


def test_include_outside_catalog_rejected(tmp_path):
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "service.yaml").write_text("name: echo\nsummary: Echo\ninclude: [../etc]\n")

    with pytest.raises(ManifestError) as caught:
        load_manifest(folder / "service.yaml")

    assert "include" in caught.value.message
    assert "relative path inside the catalog folder" in caught.value.message


def test_include_missing_path_rejected(tmp_path):
    folder = tmp_path / "echo"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "service.yaml").write_text("name: echo\nsummary: Echo\ninclude: [_shared/nothing]\n")

    with pytest.raises(ManifestError) as caught:
        load_manifest(folder / "service.yaml")

    assert "'_shared/nothing' is not in" in caught.value.message


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "got true"), ("204", 'got "204"'), ([200], "got [200]"), (2.5, "got 2.5")],
)
def test_integer_error_shows_json(value, shown):
    parameters = load_catalog().get("webhook").manifest.parameters

    with pytest.raises(InvalidInput) as caught:
        check_parameters(parameters, {"status_code": value})

    assert shown in caught.value.message
    assert caught.value.details == {"minimum": 200, "maximum": 599}


def test_integer_range_error_carries_range():
    parameters = load_catalog().get("webhook").manifest.parameters

    with pytest.raises(InvalidInput) as caught:
        check_parameters(parameters, {"status_code": 600})

    assert caught.value.details == {"minimum": 200, "maximum": 599}


def test_string_and_choice_errors_show_json():
    parameters = [
        Parameter(name="flag", type="boolean", help="a flag"),
        Parameter(name="mode", type="choice", choices=["a", "b"], help="a mode"),
        Parameter(name="label", help="a label"),
        Parameter(name="token", type="secret", help="a secret"),
    ]

    for values, shown in [
        ({"flag": "yes"}, 'got "yes"'),
        ({"mode": "c"}, 'is "c"; allowed values: a, b'),
        ({"label": False}, "got false"),
        ({"token": 12345}, "got ***"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            check_parameters(parameters, values)
        assert shown in caught.value.message, values
