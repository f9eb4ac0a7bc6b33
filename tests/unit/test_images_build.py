"""Content hashes, base image preparation and build decisions, with the engine replaced by a fake."""

from __future__ import annotations

from pathlib import Path

import pytest
from docker.errors import ImageNotFound

from csdp.catalog import Catalog, load_catalog
from csdp.errors import ImageBuildError, NotFound
from csdp.runtime import images
from csdp.settings import Settings


def make_folder(root: Path) -> Path:
    folder = root / "svc"
    folder.mkdir()
    (folder / "Dockerfile").write_text("ARG BASE_IMAGE=csdp/debian:bookworm\nFROM ${BASE_IMAGE}\n")
    (folder / "service.yaml").write_text("name: svc\nsummary: a test service\n")
    (folder / "files").mkdir()
    (folder / "files" / "run.sh").write_text("#!/bin/sh\necho hi\n")
    return folder


def test_content_hash_stable(tmp_path):
    folder = make_folder(tmp_path)

    assert images.content_hash(folder, "sha256:base") == images.content_hash(folder, "sha256:base")


def test_content_hash_changes_with_file(tmp_path):
    folder = make_folder(tmp_path)
    before = images.content_hash(folder, "sha256:base")

    (folder / "files" / "run.sh").write_text("#!/bin/sh\necho bye\n")

    assert images.content_hash(folder, "sha256:base") != before


def test_content_hash_changes_with_base(tmp_path):
    folder = make_folder(tmp_path)

    assert images.content_hash(folder, "sha256:one") != images.content_hash(folder, "sha256:two")


def test_content_hash_changes_with_mode(tmp_path):
    folder = make_folder(tmp_path)
    before = images.content_hash(folder, "sha256:base")

    (folder / "files" / "run.sh").chmod(0o755)

    assert images.content_hash(folder, "sha256:base") != before


def test_content_hash_changes_with_rename(tmp_path):
    folder = make_folder(tmp_path)
    before = images.content_hash(folder, "sha256:base")

    (folder / "files" / "run.sh").rename(folder / "files" / "start.sh")

    assert images.content_hash(folder, "sha256:base") != before


def test_content_hash_ignores_caches(tmp_path):
    folder = make_folder(tmp_path)
    before = images.content_hash(folder, "sha256:base")

    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\x00")
    (folder / "helper.pyc").write_bytes(b"\x00")

    assert images.content_hash(folder, "sha256:base") == before


def test_prepare_rootfs_sources_and_cleanup(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc/apt").mkdir(parents=True)
    (root / "var/cache/apt/archives/partial").mkdir(parents=True)
    (root / "var/cache/apt/archives/libc6.deb").write_bytes(b"deb")
    (root / "var/lib/apt/lists/partial").mkdir(parents=True)
    (root / "var/lib/apt/lists/deb.debian.org_Packages").write_text("x")

    images._prepare_rootfs(root, "http://mirror.example/debian/")

    sources = (root / "etc/apt/sources.list").read_text().splitlines()
    assert sources == [
        "deb http://mirror.example/debian bookworm main",
        "deb http://mirror.example/debian bookworm-updates main",
        "deb http://mirror.example/debian-security bookworm-security main",
    ]
    assert not (root / "var/cache/apt/archives/libc6.deb").exists()
    assert not (root / "var/lib/apt/lists/deb.debian.org_Packages").exists()


def test_check_debootstrap_missing(monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: None)

    with pytest.raises(ImageBuildError) as caught:
        images._check_debootstrap("csdp/debian:bookworm")

    assert "apt-get install debootstrap" in caught.value.message
    assert "csdp/debian:bookworm" in caught.value.message


def test_check_debootstrap_not_root(monkeypatch):
    monkeypatch.setattr(images.shutil, "which", lambda name: "/usr/sbin/debootstrap")
    monkeypatch.setattr(images.os, "geteuid", lambda: 1000)

    with pytest.raises(ImageBuildError, match="needs root"):
        images._check_debootstrap("csdp/debian:bookworm")


class FakeImage:
    def __init__(self, labels, image_id="sha256:existing"):
        self.labels = labels
        self.id = image_id
        self.tags_added = []

    def tag(self, repository, tag):
        self.tags_added.append(f"{repository}:{tag}")


class FakeImages:
    def __init__(self, by_name=None, by_label=None):
        self.by_name = by_name or {}
        self.by_label = by_label or []

    def get(self, name):
        if name not in self.by_name:
            raise ImageNotFound(name)
        return self.by_name[name]

    def list(self, filters):
        return self.by_label


class FakeApi:
    def __init__(self, chunks):
        self.chunks = chunks
        self.calls = []

    def build(self, **kwargs):
        self.calls.append(kwargs)
        return iter(self.chunks)


class FakeClient:
    def __init__(self, fake_images, chunks=()):
        self.images = fake_images
        self.api = FakeApi(list(chunks))

    def close(self):
        pass


@pytest.fixture
def one_service(tmp_path, monkeypatch):
    folder = make_folder(tmp_path)
    catalog = Catalog({"svc": load_catalog_service(folder)})
    monkeypatch.setattr(images, "ensure_base_image", lambda settings, progress: "sha256:base")
    return catalog, folder


def load_catalog_service(folder):
    from csdp.catalog import Service, load_manifest

    return Service(load_manifest(folder / "service.yaml"), folder)


def test_build_skips_unchanged(monkeypatch, one_service):
    catalog, folder = one_service
    digest = images.content_hash(folder, "sha256:base")
    client = FakeClient(FakeImages({"csdp/svc": FakeImage({images.LABEL_CONTENT_HASH: digest})}))
    monkeypatch.setattr(images, "engine_client", lambda settings, timeout=60: client)

    [result] = images.build_service_images(catalog, Settings())

    assert result.built is False
    assert result.skipped == "unchanged"
    assert client.api.calls == []


def test_build_retags_image_with_same_hash(monkeypatch, one_service):
    catalog, folder = one_service
    same = FakeImage({})
    client = FakeClient(FakeImages({}, by_label=[same]))
    monkeypatch.setattr(images, "engine_client", lambda settings, timeout=60: client)

    [result] = images.build_service_images(catalog, Settings())

    assert result.built is False
    assert same.tags_added == ["csdp/svc:latest"]


def test_build_changed_passes_base_and_label(monkeypatch, one_service):
    catalog, folder = one_service
    chunks = [{"stream": "Step 1/2 : ARG BASE_IMAGE\n"}, {"stream": "Successfully built abc\n"}]
    client = FakeClient(FakeImages({"csdp/svc": FakeImage({images.LABEL_CONTENT_HASH: "old"})}), chunks)
    monkeypatch.setattr(images, "engine_client", lambda settings, timeout=60: client)
    lines = []

    [result] = images.build_service_images(catalog, Settings(base_image="registry.example/debian:12"), progress=lines.append)

    assert result.built is True
    assert result.image == "csdp/svc"
    [call] = client.api.calls
    assert call["buildargs"] == {"BASE_IMAGE": "registry.example/debian:12"}
    assert call["labels"] == {images.LABEL_CONTENT_HASH: images.content_hash(folder, "sha256:base")}
    assert call["pull"] is False
    assert "svc: Step 1/2 : ARG BASE_IMAGE" in lines


def test_build_force_rebuilds_without_cache(monkeypatch, one_service):
    catalog, folder = one_service
    digest = images.content_hash(folder, "sha256:base")
    client = FakeClient(FakeImages({"csdp/svc": FakeImage({images.LABEL_CONTENT_HASH: digest})}), [])
    monkeypatch.setattr(images, "engine_client", lambda settings, timeout=60: client)

    [result] = images.build_service_images(catalog, Settings(), force=True)

    assert result.built is True
    assert client.api.calls[0]["nocache"] is True


def test_build_error_names_service_and_step(monkeypatch, one_service):
    catalog, _ = one_service
    chunks = [
        {"stream": "Step 1/3 : ARG BASE_IMAGE\n"},
        {"stream": "Step 3/3 : RUN apt-get install -y nosuchpackage\n"},
        {"stream": "E: Unable to locate package nosuchpackage\n"},
        {"error": "The command '/bin/sh -c apt-get install -y nosuchpackage' returned a non-zero code: 100",
         "errorDetail": {"code": 100, "message": "The command '/bin/sh -c apt-get install -y nosuchpackage' returned a non-zero code: 100"}},
    ]
    client = FakeClient(FakeImages({}), chunks)
    monkeypatch.setattr(images, "engine_client", lambda settings, timeout=60: client)

    with pytest.raises(ImageBuildError) as caught:
        images.build_service_images(catalog, Settings())

    message = caught.value.message
    assert "service svc" in message
    assert "failed at Step 3/3:" in message
    assert "non-zero code: 100" in message
    assert "E: Unable to locate package nosuchpackage" in message
    assert caught.value.details["service"] == "svc"
    assert caught.value.details["step"] == "Step 3/3 : RUN apt-get install -y nosuchpackage"


def test_build_unknown_name(monkeypatch, one_service):
    catalog, _ = one_service

    with pytest.raises(NotFound, match="nosuch"):
        images.build_service_images(catalog, Settings(), names=["nosuch"])


def test_builtin_services_have_dockerfiles():
    for service in load_catalog():
        dockerfile = (service.folder / "Dockerfile").read_text()
        assert "ARG BASE_IMAGE=csdp/debian:bookworm" in dockerfile, service.name
        assert "FROM ${BASE_IMAGE}" in dockerfile, service.name


def test_optional_build_failure_skipped(monkeypatch, tmp_path):
    """A failed optional service is reported as skipped when all services are built."""
    from csdp.catalog import load_catalog
    from csdp.errors import ImageBuildError
    from csdp.runtime import images
    from csdp.settings import Settings

    catalog = load_catalog()
    assert catalog.get("firefox").manifest.build == "optional"

    def fake_build_one(client, service, settings, base_id, force, progress):
        if service.name == "firefox":
            raise ImageBuildError("geckodriver is missing", image="csdp/firefox", step="Step 4/15")
        return images.BuildResult(service.name, "csdp/" + service.name, False, "unchanged", 0.0)

    class FakeClient:
        def close(self):
            pass

    monkeypatch.setattr(images, "ensure_base_image", lambda settings, progress: "sha256:base")
    monkeypatch.setattr(images, "engine_client", lambda settings, timeout: FakeClient())
    monkeypatch.setattr(images, "_build_one", fake_build_one)

    results = images.build_service_images(catalog, Settings())

    firefox = next(result for result in results if result.service == "firefox")
    assert firefox.built is False
    assert "geckodriver is missing" in firefox.skipped
    assert len(results) == len(catalog.names())
    with pytest.raises(ImageBuildError):
        images.build_service_images(catalog, Settings(), names=["firefox"])
