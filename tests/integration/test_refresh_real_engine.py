"""Image refresh on the real engine with a small throwaway service that installs Debian's hello package."""

from __future__ import annotations

import io
import uuid

import docker
import pytest

from csdp.catalog import load_catalog
from csdp.runtime.image_refresh import (
    LABEL_PACKAGE_VERSION,
    REBUILT,
    UP_TO_DATE,
    candidate_version,
    compare_versions,
    installed_version,
    refresh_service_image,
    version_tag,
)
from csdp.runtime.images import build_service_images
from csdp.settings import Settings

pytestmark = pytest.mark.integration

PREFIX = "csdp-test/"
# An older version than any bookworm has of hello, set by label as an earlier refresh would have.
OLDER = "2.9-1"


@pytest.fixture
def client():
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture
def hello_service(tmp_path, client):
    """Write a service folder whose image installs hello; every image of it is removed after the test."""
    name = f"refresh_{uuid.uuid4().hex[:8]}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "service.yaml").write_text(f"name: {name}\nsummary: image refresh test\nversion_package: hello\n")
    (folder / "Dockerfile").write_text(
        "ARG BASE_IMAGE=csdp/debian:bookworm\nFROM ${BASE_IMAGE}\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends hello && rm -rf /var/lib/apt/lists/*\n"
    )
    yield name
    for image in client.images.list(name=f"{PREFIX}{name}"):
        client.images.remove(image.id, force=True)


def test_refresh_keeps_previous_image(tmp_path, client, hello_service):
    settings = Settings(image_prefix=PREFIX)
    service = load_catalog([tmp_path]).get(hello_service)
    image = f"{PREFIX}{hello_service}"
    build_service_images(load_catalog([tmp_path]), settings, names=[hello_service])

    installed = installed_version(image, "hello", settings)
    candidate = candidate_version(settings.base_image, "hello", settings)
    assert compare_versions(installed, candidate) == 0

    current = refresh_service_image(service, settings)
    assert current.action == UP_TO_DATE
    assert client.images.get(f"{image}:{version_tag(installed)}").id == client.images.get(image).id

    # Label the image as if it held an older hello, the state before a Debian update.
    stream = client.api.build(
        fileobj=io.BytesIO(f"FROM {image}\n".encode()), tag=image, labels={LABEL_PACKAGE_VERSION: OLDER}, decode=True
    )
    assert not [chunk for chunk in stream if "error" in chunk]
    older_id = client.images.get(image).id

    result = refresh_service_image(service, settings)

    assert result.action == REBUILT
    assert (result.installed, result.candidate) == (OLDER, candidate)
    assert result.previous_tag == f"{image}:{OLDER}"
    assert client.images.get(f"{image}:{OLDER}").id == older_id
    rebuilt = client.images.get(image)
    assert rebuilt.id != older_id
    assert rebuilt.labels[LABEL_PACKAGE_VERSION] == candidate
    assert client.images.get(f"{image}:{version_tag(candidate)}").id == rebuilt.id
    assert not client.containers.list(all=True, filters={"ancestor": rebuilt.id})
