"""Image builds on the real engine: skipping unchanged services, build failures, the debootstrap base image."""

from __future__ import annotations

import uuid
from pathlib import Path

import docker
import pytest

from csdp.catalog import load_catalog
from csdp.errors import ImageBuildError
from csdp.runtime.images import LABEL_CONTENT_HASH, build_service_images, ensure_base_image
from csdp.settings import Settings

pytestmark = pytest.mark.integration

PREFIX = "csdp-test/"


@pytest.fixture
def client():
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture
def new_service(tmp_path, client):
    """Return a function that writes a service folder; every image built from it is removed after the test."""
    created: list[str] = []

    def write(dockerfile_body: str) -> str:
        name = f"imgtest_{uuid.uuid4().hex[:8]}"
        folder = tmp_path / name
        folder.mkdir()
        (folder / "service.yaml").write_text(f"name: {name}\nsummary: image build test\n")
        (folder / "Dockerfile").write_text(f"ARG BASE_IMAGE=csdp/debian:bookworm\nFROM ${{BASE_IMAGE}}\n{dockerfile_body}")
        created.append(name)
        return name

    yield write
    for name in created:
        for image in client.images.list(name=f"{PREFIX}{name}"):
            client.images.remove(image.id, force=True)


def test_build_skips_unchanged_service(tmp_path, client, new_service):
    name = new_service(f'RUN echo "{uuid.uuid4()}" > /marker\n')
    settings = Settings(image_prefix=PREFIX)
    catalog = load_catalog([tmp_path])

    [first] = build_service_images(catalog, settings, names=[name])
    [second] = build_service_images(catalog, settings, names=[name])

    assert first.built is True
    assert first.image == f"{PREFIX}{name}"
    assert second.built is False
    assert second.skipped == "unchanged"
    labels = client.images.get(first.image).labels
    assert len(labels[LABEL_CONTENT_HASH]) == 64


def test_build_after_change(tmp_path, client, new_service):
    name = new_service("RUN true\n")
    settings = Settings(image_prefix=PREFIX)
    [first] = build_service_images(load_catalog([tmp_path]), settings, names=[name])
    first_id = client.images.get(first.image).id

    (tmp_path / name / "extra.txt").write_text("changed\n")
    [second] = build_service_images(load_catalog([tmp_path]), settings, names=[name])

    assert second.built is True
    assert client.images.get(second.image).id != first_id
    client.images.remove(first_id, force=True)


def test_build_failure_names_step(tmp_path, new_service):
    name = new_service("RUN echo preparing\nRUN sh -c 'echo broken >&2; exit 3'\n")

    with pytest.raises(ImageBuildError) as caught:
        build_service_images(load_catalog([tmp_path]), Settings(image_prefix=PREFIX), names=[name])

    message = caught.value.message
    assert f"service {name}" in message
    assert "non-zero code: 3" in message
    assert "last output:\nbroken" in message
    assert "\x1b" not in message
    assert caught.value.details["step"].endswith("RUN sh -c 'echo broken >&2; exit 3'")


def test_base_image_from_debootstrap(client):
    tag = f"{PREFIX}debian:bootstrap-{uuid.uuid4().hex[:8]}"
    lines: list[str] = []
    try:
        image_id = ensure_base_image(Settings(base_image=tag), lines.append)

        assert client.images.get(tag).id == image_id
        assert any("debootstrap" in line for line in lines)
        sources = client.containers.run(tag, ["cat", "/etc/apt/sources.list"], remove=True).decode()
        assert "bookworm main" in sources
        assert "bookworm-updates main" in sources
        assert "bookworm-security main" in sources
        leftovers = client.containers.run(
            tag, ["sh", "-c", "ls /var/cache/apt/archives/*.deb /var/lib/apt/lists/*Packages* 2>/dev/null | wc -l"], remove=True
        )
        assert leftovers.decode().strip() == "0"
        assert ensure_base_image(Settings(base_image=tag)) == image_id
    finally:
        try:
            client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass
