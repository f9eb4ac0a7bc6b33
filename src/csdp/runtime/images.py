"""Service images built on this host: the Debian base image and one image per service folder.

No registry is needed. The base image comes from debootstrap and is imported
into the engine; each service image is built from its folder's Dockerfile
``FROM`` the base. A service image carries the hash of its folder and of the
base image id, so an unchanged service is not built again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import docker
import requests
from docker.errors import DockerException, ImageNotFound
from docker.utils import parse_repository_tag

from csdp.catalog import Catalog, Service
from csdp.errors import EngineUnavailable, ImageBuildError
from csdp.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

LABEL_CONTENT_HASH = "io.csdp.content-hash"
# Passed to every Dockerfile; a host with a registry may point it at its own copy.
BASE_IMAGE_ARG = "BASE_IMAGE"
# Build output can pause for minutes while apt downloads, so reads wait longer
# than for ordinary engine calls.
BUILD_TIMEOUT_SECONDS = 1800
DEBOOTSTRAP_SUITE = "bookworm"
# Files that appear in a service folder without being part of it.
IGNORED_NAMES = {"__pycache__", ".pytest_cache", ".DS_Store"}
IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp")
# pip wheel of a service's python_wheels downloads from the package index.
WHEEL_TIMEOUT_SECONDS = 900
# Output lines of the failing build step kept for the error message.
BUILD_OUTPUT_LINES = 8
# The engine colours a step's stderr with terminal escapes, which do not belong in an error message.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class BuildResult:
    """Outcome for one service: built, or skipped with the reason."""

    service: str
    image: str
    built: bool
    skipped: str | None
    seconds: float


def _ignore_progress(line: str) -> None:
    pass


def engine_client(settings: Settings, *, timeout: float = 60) -> docker.DockerClient:
    """Return an SDK client for the configured engine (settings, then DOCKER_HOST, then the default socket)."""
    try:
        if settings.docker_host:
            return docker.DockerClient(base_url=settings.docker_host, timeout=timeout)
        return docker.from_env(timeout=timeout)
    except DockerException as exc:
        raise EngineUnavailable(f"cannot reach the container engine: {exc}; start dockerd or fix DOCKER_HOST") from exc


def ping_engine(settings: Settings) -> str:
    """Return the engine version, or raise EngineUnavailable."""
    client = engine_client(settings, timeout=10)
    try:
        client.ping()
        return client.version().get("Version", "unknown")
    except (DockerException, OSError) as exc:
        where = settings.docker_host or os.environ.get("DOCKER_HOST") or "the default socket /var/run/docker.sock"
        raise EngineUnavailable(f"the container engine at {where} does not respond: {exc}") from exc
    finally:
        client.close()


# Base image.


def ensure_base_image(settings: Settings, progress: Progress = _ignore_progress) -> str:
    """Return the id of ``settings.base_image``, building it with debootstrap when it is missing.

    Nothing is pulled: the image is a Debian minbase tree imported into the engine.
    Raises ImageBuildError naming what to install when debootstrap or root is missing.
    """
    client = engine_client(settings, timeout=BUILD_TIMEOUT_SECONDS)
    try:
        try:
            return client.images.get(settings.base_image).id
        except ImageNotFound:
            pass
        except requests.exceptions.ConnectionError as exc:
            raise EngineUnavailable(f"the container engine does not respond: {exc}; start dockerd or fix DOCKER_HOST") from exc
        log.info("base image %s is missing; building it with debootstrap", settings.base_image)
        progress(f"base image {settings.base_image} is missing; building it with debootstrap")
        _check_debootstrap(settings.base_image)

        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="csdp-rootfs-", dir="/var/tmp") as workdir:
            root = Path(workdir) / "rootfs"
            _run_debootstrap(root, settings.debian_mirror, progress)
            _prepare_rootfs(root, settings.debian_mirror)
            image_id = _import_rootfs(client, root, settings.base_image, progress)
        log.info("built base image %s (%s) in %.0f s", settings.base_image, image_id[:19], time.monotonic() - started)
        progress(f"built base image {settings.base_image} in {time.monotonic() - started:.0f} s")
        return image_id
    except (DockerException, OSError) as exc:
        raise ImageBuildError(f"building base image {settings.base_image} failed: {exc}", image=settings.base_image) from exc
    finally:
        client.close()


def _check_debootstrap(image: str) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            f"base image {image} is missing and debootstrap is not installed; "
            "install it (apt-get install debootstrap) and run the build again",
            image=image,
        )
    if os.geteuid() != 0:
        raise ImageBuildError(
            f"base image {image} is missing and debootstrap needs root; run the build as root",
            image=image,
        )


def _run_debootstrap(root: Path, mirror: str, progress: Progress) -> None:
    command = ["debootstrap", "--variant=minbase", DEBOOTSTRAP_SUITE, str(root), mirror]
    log.info("running %s", " ".join(command))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        progress(line)
        tail = (tail + [line])[-5:]
    if process.wait() != 0:
        raise ImageBuildError(
            f"debootstrap of {DEBOOTSTRAP_SUITE} from {mirror} failed with exit code {process.returncode}: "
            + " | ".join(tail)
            + "; check the mirror (CSDP_DEBIAN_MIRROR) and the network",
            step="debootstrap",
        )


def _prepare_rootfs(root: Path, mirror: str) -> None:
    """Write the apt sources and drop downloaded packages and lists, which only make the image larger."""
    mirror = mirror.rstrip("/")
    # deb.debian.org and Debian's mirrors serve security updates next to the
    # main archive, under the same path with "-security" appended.
    sources = (
        f"deb {mirror} {DEBOOTSTRAP_SUITE} main\n"
        f"deb {mirror} {DEBOOTSTRAP_SUITE}-updates main\n"
        f"deb {mirror}-security {DEBOOTSTRAP_SUITE}-security main\n"
    )
    (root / "etc/apt/sources.list").write_text(sources, encoding="utf-8")
    for pattern in ("var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"):
        for path in root.glob(pattern):
            if path.is_file() or path.is_symlink():
                path.unlink()
            elif path.is_dir() and path.name != "partial":
                shutil.rmtree(path)


def _import_rootfs(client: docker.DockerClient, root: Path, image: str, progress: Progress) -> str:
    repository, tag = parse_repository_tag(image)
    progress(f"importing {root} as {image}")
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-c", "."],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert tar.stdout is not None
    try:
        client.api.import_image_from_stream(tar.stdout, repository=repository, tag=tag or "latest")
    finally:
        tar.stdout.close()
        stderr = tar.stderr.read().decode("utf-8", "replace") if tar.stderr else ""
        tar.wait()
    if tar.returncode != 0:
        raise ImageBuildError(f"packing {root} for import failed: {stderr.strip()}", image=image, step="import")
    return client.images.get(image).id


# Service images.


def content_hash(folder: Path, base_image_id: str) -> str:
    """Return a SHA-256 over the folder's files (paths, modes, contents, in sorted order) and the base image id."""
    digest = hashlib.sha256()
    digest.update(f"base {base_image_id}\n".encode())
    for path in sorted(_context_files(folder)):
        relative = path.relative_to(folder).as_posix()
        executable = os.access(path, os.X_OK)
        digest.update(f"file {relative} {int(executable)} {path.stat().st_size}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _context_files(folder: Path) -> Iterable[Path]:
    for path in folder.rglob("*"):
        if any(part in IGNORED_NAMES for part in path.relative_to(folder).parts):
            continue
        if path.is_file() and not path.name.endswith(IGNORED_SUFFIXES):
            yield path


def build_service_images(
    catalog: Catalog,
    settings: Settings,
    names: Iterable[str] | None = None,
    force: bool = False,
    progress: Progress = _ignore_progress,
) -> list[BuildResult]:
    """Build the image of each service that has a Dockerfile; skip those whose content hash is unchanged.

    ``names`` limits the build to those services and raises NotFound for an
    unknown one. ``force`` builds unchanged services too, without the layer
    cache, so that new Debian updates are picked up. Raises ImageBuildError
    naming the service and the failing step, except for a service whose
    manifest sets ``build: optional`` when no names are given: its failure is
    reported as a skipped result and the other services are still built.
    """
    explicit = names is not None
    services = [catalog.get(name) for name in names] if explicit else list(catalog)
    base_id = ensure_base_image(settings, progress)
    client = engine_client(settings, timeout=BUILD_TIMEOUT_SECONDS)
    results = []
    try:
        for service in services:
            started = time.monotonic()
            try:
                results.append(_build_one(client, service, settings, base_id, force, progress))
            except ImageBuildError as exc:
                if explicit or service.manifest.build != "optional":
                    raise
                log.warning("optional image of service %s was not built: %s", service.name, exc.message)
                progress(f"{service.name}: skipped, the optional build failed: {exc.message}")
                image = service.manifest.image_name(settings.image_prefix)
                reason = f"optional build failed: {exc.message}"
                results.append(BuildResult(service.name, image, False, reason, time.monotonic() - started))
    finally:
        client.close()
    return results


def _build_one(
    client: docker.DockerClient, service: Service, settings: Settings, base_id: str, force: bool, progress: Progress
) -> BuildResult:
    started = time.monotonic()
    image = service.manifest.image_name(settings.image_prefix)
    if not (service.folder / "Dockerfile").is_file():
        return BuildResult(service.name, image, False, f"no Dockerfile; the manifest names image {image}", 0.0)

    if service.manifest.include:
        digest = folder_content_hash([service.folder, *service.included_paths], base_id)
    else:
        digest = content_hash(service.folder, base_id)
    if not force and _reuse_existing(client, image, digest):
        log.info("image %s of service %s is up to date (content hash %s)", image, service.name, digest[:12])
        progress(f"{service.name}: {image} is up to date")
        return BuildResult(service.name, image, False, "unchanged", time.monotonic() - started)

    log.info("building image %s of service %s (content hash %s)", image, service.name, digest[:12])
    progress(f"{service.name}: building {image}")
    with tempfile.TemporaryDirectory(prefix=f"csdp-build-{service.name}-", dir="/var/tmp") as workdir:
        context = _service_context(service, Path(workdir))
        _stream_build(
            client, context, service.name, image, digest, settings, force, progress, source=f"service {service.name}"
        )
    seconds = time.monotonic() - started
    log.info("built image %s of service %s in %.1f s", image, service.name, seconds)
    return BuildResult(service.name, image, True, None, seconds)


def _reuse_existing(client: docker.DockerClient, image: str, digest: str) -> bool:
    """Tell whether an image with this content hash exists, tagging it as ``image`` when it is not tagged so yet."""
    try:
        if client.images.get(image).labels.get(LABEL_CONTENT_HASH) == digest:
            return True
    except ImageNotFound:
        pass
    matches = client.images.list(filters={"label": f"{LABEL_CONTENT_HASH}={digest}"})
    if not matches:
        return False
    repository, tag = parse_repository_tag(image)
    matches[0].tag(repository, tag or "latest")
    return True


def _service_context(service: Service, workdir: Path) -> Path:
    """Return the build context: the service folder itself, or a copy with its included shared paths and wheels."""
    if not service.manifest.include and not service.manifest.python_wheels:
        return service.folder
    context = workdir / service.name
    ignore = shutil.ignore_patterns(*IGNORED_NAMES, *(f"*{suffix}" for suffix in IGNORED_SUFFIXES))
    shutil.copytree(service.folder, context, ignore=ignore)
    for item, source in zip(service.manifest.include, service.included_paths):
        target = context / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    if service.manifest.python_wheels:
        collect_wheels(service.manifest.python_wheels, context / "wheels", source=f"service {service.name}")
    return context


def collect_wheels(requirements: list[str], wheel_dir: Path, *, source: str) -> None:
    """Run ``pip wheel`` on this host to put wheels of ``requirements`` and their dependencies into ``wheel_dir``.

    The host's pip settings (index, certificates) apply, so the image build
    itself needs no package index. The wheels suit the Python version of this
    host; Debian 12's python3 is 3.11, so the host must run 3.11 as well.
    """
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheel_dir), *requirements]
    log.info("%s: collecting wheels of %s", source, ", ".join(requirements))
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=WHEEL_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise ImageBuildError(
            f"pip wheel for {source} timed out after {WHEEL_TIMEOUT_SECONDS} s; check the package index", step="pip wheel"
        ) from exc
    if completed.returncode != 0:
        tail = " | ".join((completed.stderr or completed.stdout).strip().splitlines()[-3:])
        raise ImageBuildError(
            f"pip wheel for {source} failed with exit code {completed.returncode}: {tail}; "
            "check that pip on this host can reach a package index",
            step="pip wheel",
        )


# Images built from any Dockerfile folder, such as the platform's own images.


def folder_content_hash(paths: Iterable[Path], base_image_id: str) -> str:
    """Return a SHA-256 over the files of ``paths`` (folders or single files) and the base image id."""
    digest = hashlib.sha256()
    digest.update(f"base {base_image_id}\n".encode())
    for path in paths:
        if path.is_dir():
            digest.update(f"folder {path.name}\n".encode())
            digest.update(content_hash(path, "").encode())
        else:
            digest.update(f"file {path.name} {path.stat().st_size}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def build_folder_image(
    folder: Path,
    image: str,
    settings: Settings,
    *,
    hashed_sources: Iterable[Path] = (),
    prepare_context: Callable[[Path, Progress], None] | None = None,
    force: bool = False,
    progress: Progress = _ignore_progress,
) -> BuildResult:
    """Build ``image`` from the Dockerfile in ``folder`` unless an image with the same content hash exists.

    The hash covers ``folder``, ``hashed_sources`` (files or folders the build
    is made from without being in ``folder``) and the base image id.
    ``prepare_context`` adds generated files, such as wheels, to a temporary
    copy of ``folder`` before the build. It runs only when a build is needed.
    ``force`` builds without the layer cache. Raises ImageBuildError naming
    the image and the failing step.
    """
    started = time.monotonic()
    name = folder.name
    if not (folder / "Dockerfile").is_file():
        raise ImageBuildError(f"no Dockerfile in {folder}; image {image} cannot be built", image=image)
    base_id = ensure_base_image(settings, progress)
    digest = folder_content_hash([folder, *hashed_sources], base_id)
    client = engine_client(settings, timeout=BUILD_TIMEOUT_SECONDS)
    try:
        if not force and _reuse_existing(client, image, digest):
            log.info("image %s is up to date (content hash %s)", image, digest[:12])
            progress(f"{name}: {image} is up to date")
            return BuildResult(name, image, False, "unchanged", time.monotonic() - started)

        log.info("building image %s from %s (content hash %s)", image, folder, digest[:12])
        progress(f"{name}: building {image}")
        with tempfile.TemporaryDirectory(prefix=f"csdp-build-{name}-", dir="/var/tmp") as workdir:
            context = Path(workdir) / name
            shutil.copytree(folder, context, ignore=shutil.ignore_patterns(*IGNORED_NAMES, *(f"*{s}" for s in IGNORED_SUFFIXES)))
            if prepare_context is not None:
                prepare_context(context, progress)
            _stream_build(client, context, name, image, digest, settings, force, progress)
    finally:
        client.close()
    seconds = time.monotonic() - started
    log.info("built image %s in %.1f s", image, seconds)
    return BuildResult(name, image, True, None, seconds)


def _stream_build(
    client: docker.DockerClient,
    context: Path,
    name: str,
    image: str,
    digest: str,
    settings: Settings,
    force: bool,
    progress: Progress,
    *,
    source: str | None = None,
) -> None:
    """Build ``image`` from ``context``; errors name ``source`` (default: folder NAME), the step and its last output."""
    source = source or f"folder {name}"
    step = "sending the build context"
    recent: deque[str] = deque(maxlen=BUILD_OUTPUT_LINES)
    try:
        stream = client.api.build(
            path=str(context),
            tag=image,
            buildargs={BASE_IMAGE_ARG: settings.base_image},
            labels={LABEL_CONTENT_HASH: digest},
            rm=True,
            forcerm=True,
            pull=False,
            nocache=force,
            decode=True,
        )
        for chunk in stream:
            if "error" in chunk or "errorDetail" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk.get("error", "")
                output = "\n".join(recent)
                raise ImageBuildError(
                    f"building image {image} of {source} failed at {_short_step(step)}: {detail.strip()}"
                    + (f"\nlast output:\n{output}" if output else ""),
                    service=name,
                    image=image,
                    step=step,
                )
            for line in chunk.get("stream", "").splitlines():
                if line.startswith("Step "):
                    step = line.strip()
                    recent.clear()
                elif line.strip() and not line.startswith((" ---> ", "Removing intermediate container")):
                    recent.append(ANSI_ESCAPE.sub("", line).rstrip())
                if line.strip():
                    progress(f"{name}: {line.rstrip()}")
    except (DockerException, OSError) as exc:
        raise ImageBuildError(
            f"building image {image} of {source} failed at {_short_step(step)}: {exc}",
            service=name,
            image=image,
            step=step,
        ) from exc


def _short_step(step: str) -> str:
    """Return "Step 4/15" of "Step 4/15 : RUN ...", which the engine's error repeats in full anyway."""
    return step.split(" : ", 1)[0]
