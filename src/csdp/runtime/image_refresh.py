"""Rebuild service images when Debian has a newer version of the package that names them.

A service whose manifest sets ``version_package`` (chromium for chrome,
firefox-esr for firefox) gets its image tagged by that package's version, such
as ``csdp/chrome:131.0.6778.85-1_deb12u1``, next to the normal name. A refresh
asks a short container of the base image for apt's candidate version and, when
it is newer than the version in the image, tags the current image by its
version first, so it is never left untagged, and then rebuilds without the
layer cache so apt installs the new version.

Versions are compared in Python by Debian's rules (epoch, upstream version,
revision; ``~`` sorts before everything), which keeps the decision testable
without an engine. Docker tags allow only letters, digits, ``_``, ``.`` and
``-``, so other characters of a version (``~``, ``+``, ``:``) become ``_`` in
the tag; the label ``io.csdp.package-version`` holds the exact version.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Iterable

import docker
from docker.errors import DockerException, ImageNotFound
from docker.utils import parse_repository_tag

from csdp.catalog import Catalog, Service
from csdp.errors import CsdpError, ImageBuildError, InvalidInput
from csdp.runtime.images import (
    BUILD_TIMEOUT_SECONDS,
    Progress,
    _build_one,
    _ignore_progress,
    engine_client,
    ensure_base_image,
)
from csdp.settings import Settings

log = logging.getLogger(__name__)

LABEL_PACKAGE_VERSION = "io.csdp.package-version"
UP_TO_DATE = "up to date"
REBUILT = "rebuilt"
NOT_BUILT = "not built"
FAILED = "failed"
TAG_INVALID = re.compile(r"[^A-Za-z0-9_.-]")
CANDIDATE_LINE = re.compile(r"^\s*Candidate:\s*(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class RefreshResult:
    """Outcome of a refresh for one service: the versions it compared and the action it took."""

    service: str
    image: str
    package: str
    installed: str | None
    candidate: str | None
    action: str
    previous_tag: str | None = None
    new_tag: str | None = None
    error: str | None = None


# Debian version comparison.


def compare_versions(left: str, right: str) -> int:
    """Return a negative number, zero or a positive number as Debian version ``left`` is older, equal or newer."""
    left_epoch, left_upstream, left_revision = _split_version(left)
    right_epoch, right_upstream, right_revision = _split_version(right)
    if left_epoch != right_epoch:
        return left_epoch - right_epoch
    return _compare_part(left_upstream, right_upstream) or _compare_part(left_revision, right_revision)


def _split_version(full: str) -> tuple[int, str, str]:
    epoch = 0
    version = full
    if ":" in full:
        head, version = full.split(":", 1)
        if not head.isdigit():
            raise InvalidInput(f"Debian version {full!r} has an invalid epoch {head!r}: it must be a number")
        epoch = int(head)
    upstream, _, revision = version.rpartition("-")
    if not upstream:
        return epoch, version, ""
    return epoch, upstream, revision


def _order(char: str) -> int:
    # dpkg's order: '~' before the end of a part, the end before letters, letters before other characters.
    if char == "~":
        return -1
    if char == "" or char.isdigit():
        return 0
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


def _compare_part(left: str, right: str) -> int:
    i = j = 0
    while i < len(left) or j < len(right):
        while (i < len(left) and not left[i].isdigit()) or (j < len(right) and not right[j].isdigit()):
            left_char = left[i] if i < len(left) else ""
            right_char = right[j] if j < len(right) else ""
            difference = _order(left_char) - _order(right_char)
            if difference:
                return difference
            i += 1
            j += 1
        start = i
        while i < len(left) and left[i].isdigit():
            i += 1
        left_number = int(left[start:i] or "0")
        start = j
        while j < len(right) and right[j].isdigit():
            j += 1
        right_number = int(right[start:j] or "0")
        if left_number != right_number:
            return left_number - right_number
    return 0


def version_tag(version: str) -> str:
    """Return ``version`` as a Docker tag: characters a tag does not allow become ``_``."""
    return TAG_INVALID.sub("_", version)[:128]


# Checks in short containers.


def installed_version(
    image: str, package: str, settings: Settings | None = None, *, client: docker.DockerClient | None = None
) -> str:
    """Return the version of Debian package ``package`` installed in ``image``, read by dpkg-query in a short container."""
    command = ["dpkg-query", "-W", "-f=${Version}\\n", package]
    output = _run_check(image, command, settings, client, network_mode="none")
    version = output.strip()
    if not version:
        raise ImageBuildError(
            f"package {package} is not installed in image {image}; fix version_package of the service", image=image
        )
    return version


def candidate_version(
    base_image: str, package: str, settings: Settings | None = None, *, client: docker.DockerClient | None = None
) -> str:
    """Return the version apt would install of ``package`` now, asked of Debian's mirror from a container of ``base_image``."""
    command = ["sh", "-c", 'apt-get update -qq && apt-cache policy "$1"', "sh", package]
    output = _run_check(base_image, command, settings, client)
    return parse_candidate(output, package)


def parse_candidate(policy_output: str, package: str) -> str:
    """Return the ``Candidate:`` version of ``apt-cache policy`` output, or raise ImageBuildError when there is none."""
    match = CANDIDATE_LINE.search(policy_output)
    if match is None or match.group(1) == "(none)":
        raise ImageBuildError(
            f"apt has no candidate version of package {package}; check the package name and the apt sources of the base image"
        )
    return match.group(1)


def _run_check(
    image: str,
    command: list[str],
    settings: Settings | None,
    client: docker.DockerClient | None,
    *,
    network_mode: str | None = None,
) -> str:
    own_client = client is None
    if client is None:
        client = engine_client(settings or Settings(), timeout=BUILD_TIMEOUT_SECONDS)
    container = None
    try:
        # On this engine containers.run(remove=True) returned empty output for
        # roughly one in five of these sub-second containers. Reading the logs
        # after the exit and removing the container afterwards returns them every time.
        container = client.containers.create(image, entrypoint=command, user="root", network_mode=network_mode)
        container.start()
        status = container.wait().get("StatusCode", 1)
        output = container.logs(stdout=True, stderr=False)
        if status != 0:
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace").strip()
            raise ImageBuildError(
                f"{' '.join(command)} in a container of {image} exited with {status}: {stderr}", image=image
            )
    except ImageNotFound as exc:
        raise ImageBuildError(f"image {image} does not exist; build it with 'csdp images build'", image=image) from exc
    except DockerException as exc:
        raise ImageBuildError(f"running {' '.join(command)} in a container of {image} failed: {exc}", image=image) from exc
    finally:
        if container is not None:
            _remove_quietly(container)
        if own_client:
            client.close()
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)


def _remove_quietly(container) -> None:
    try:
        container.remove(force=True)
    except DockerException as exc:
        log.warning("could not remove check container %s: %s", container.id[:12], exc)


# Refresh.


def refresh_service_image(
    service: Service,
    settings: Settings,
    progress: Progress = _ignore_progress,
    *,
    client: docker.DockerClient | None = None,
) -> RefreshResult:
    """Rebuild the image of ``service`` when apt has a newer ``version_package`` than the image holds.

    The image's label gives the installed version when an earlier refresh set
    it, dpkg-query in a short container otherwise. Before a rebuild the
    current image is tagged by its version, and a failed rebuild leaves the
    normal name on it. Raises ImageBuildError when a check or the build fails.
    """
    package = service.manifest.version_package
    if package is None:
        raise InvalidInput(
            f"service {service.name} has no version_package in its service.yaml; only such services can be refreshed",
            field="version_package",
        )
    image = service.manifest.image_name(settings.image_prefix)
    repository, _ = parse_repository_tag(image)
    own_client = client is None
    if client is None:
        client = engine_client(settings, timeout=BUILD_TIMEOUT_SECONDS)
    try:
        try:
            current = client.images.get(image)
        except ImageNotFound:
            log.info("refresh of %s: image %s does not exist, nothing to refresh", service.name, image)
            return RefreshResult(service.name, image, package, None, None, NOT_BUILT)
        installed = current.labels.get(LABEL_PACKAGE_VERSION) or installed_version(
            current.id, package, settings, client=client
        )
        candidate = candidate_version(settings.base_image, package, settings, client=client)
        previous_tag = f"{repository}:{version_tag(installed)}"
        if compare_versions(candidate, installed) <= 0:
            current.tag(repository, version_tag(installed))
            log.info("refresh of %s: %s %s is current (candidate %s)", service.name, package, installed, candidate)
            progress(f"{service.name}: {package} {installed} is current")
            return RefreshResult(service.name, image, package, installed, candidate, UP_TO_DATE, new_tag=previous_tag)

        current.tag(repository, version_tag(installed))
        log.info(
            "refresh of %s: %s %s is newer than %s; kept the image as %s, rebuilding",
            service.name, package, candidate, installed, previous_tag,
        )
        progress(f"{service.name}: {package} {candidate} is newer than {installed}; rebuilding {image}")
        base_id = ensure_base_image(settings, progress)
        _build_one(client, service, settings, base_id, True, progress)
        built = client.images.get(image)
        new_version = installed_version(built.id, package, settings, client=client)
        if compare_versions(new_version, candidate) != 0:
            log.warning(
                "refresh of %s: the rebuilt image contains %s %s, not the candidate %s",
                service.name, package, new_version, candidate,
            )
        new_tag = _stamp_version(client, built.id, image, new_version)
        log.info("refresh of %s: built %s with %s %s", service.name, new_tag, package, new_version)
        return RefreshResult(service.name, image, package, installed, new_version, REBUILT, previous_tag, new_tag)
    except DockerException as exc:
        raise ImageBuildError(f"refresh of image {image} of service {service.name} failed: {exc}", image=image) from exc
    finally:
        if own_client:
            client.close()


def _stamp_version(client: docker.DockerClient, image_id: str, image: str, version: str) -> str:
    """Label the image with its package version and tag it by that version; return the version tag.

    The version is known only after the build, and labels cannot be added to
    an existing image, so a build of just ``FROM`` the new image adds the label.
    """
    repository, _ = parse_repository_tag(image)
    new_tag = f"{repository}:{version_tag(version)}"
    dockerfile = io.BytesIO(f"FROM {image_id}\n".encode())
    stream = client.api.build(
        fileobj=dockerfile, tag=image, labels={LABEL_PACKAGE_VERSION: version}, rm=True, pull=False, decode=True
    )
    for chunk in stream:
        if "error" in chunk or "errorDetail" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error", "")
            raise ImageBuildError(f"labelling image {image} with version {version} failed: {detail.strip()}", image=image)
    client.images.get(image).tag(repository, version_tag(version))
    return new_tag


def refresh_images(
    catalog: Catalog,
    settings: Settings,
    names: Iterable[str] | None = None,
    progress: Progress = _ignore_progress,
) -> list[RefreshResult]:
    """Refresh ``names`` (default: every service with a version_package); a failure is a result, not an exception.

    An unknown name raises NotFound before anything runs.
    """
    services = [catalog.get(name) for name in names] if names else [s for s in catalog if s.manifest.version_package]
    results = []
    for service in services:
        package = service.manifest.version_package or ""
        image = service.manifest.image_name(settings.image_prefix)
        try:
            results.append(refresh_service_image(service, settings, progress))
        except CsdpError as exc:
            log.error("refresh of service %s failed: %s", service.name, exc.message)
            progress(f"{service.name}: refresh failed: {exc.message}")
            results.append(RefreshResult(service.name, image, package, None, None, FAILED, error=exc.message))
        except Exception as exc:  # one service's unexpected failure must not stop the others
            log.exception("refresh of service %s failed", service.name)
            results.append(RefreshResult(service.name, image, package, None, None, FAILED, error=str(exc)))
    return results
