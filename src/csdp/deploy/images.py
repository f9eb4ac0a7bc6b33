"""The platform's own images: csdp/platform, csdp/nginx, csdp/rabbitmq and csdp/redis.

Each is built from a folder of ``deploy/`` FROM the local base image, and
skipped when its content hash is unchanged. The platform image installs the
package from wheels that ``pip wheel`` makes on this host, so the build needs
no package index inside the engine.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

from csdp.errors import ImageBuildError, InvalidInput
from csdp.runtime.images import BuildResult, Progress, build_folder_image
from csdp.settings import Settings

log = logging.getLogger(__name__)

PLATFORM = "platform"
IMAGE_FOLDERS = ("platform", "nginx", "rabbitmq", "redis")
# Installed into the platform image next to the package's server extra.
# Debian 12's Python is 3.11.2, and redis-py needs async-timeout below 3.11.3;
# a host with a newer Python would not collect that wheel by itself.
EXTRA_REQUIREMENTS = ("flower>=2,<3", "async-timeout>=4.0.3")
WHEEL_TIMEOUT_SECONDS = 900


def find_source_root(explicit: Path | None = None) -> Path:
    """Return the source tree that contains ``deploy/`` and ``pyproject.toml``.

    Without ``explicit``, the tree of an editable install of this package is used.
    """
    candidates = [explicit] if explicit is not None else [Path(__file__).resolve().parents[3]]
    for root in candidates:
        if (root / "deploy" / "docker-compose.yml").is_file() and (root / "pyproject.toml").is_file():
            return root
    where = explicit or candidates[0]
    raise InvalidInput(
        f"{where} is not a csdp source tree with deploy/docker-compose.yml; "
        "pass --source with the path of a csdp checkout",
        field="source",
    )


def image_name(folder: str, settings: Settings) -> str:
    """Return the tag of the platform image made from ``deploy/<folder>``, such as csdp/nginx."""
    return f"{settings.image_prefix}{folder}"


def build_platform_images(
    source_root: Path, settings: Settings, *, force: bool = False, progress: Progress
) -> list[BuildResult]:
    """Build every image of ``deploy/`` whose content changed, and return what was built or skipped."""
    results = []
    for folder in IMAGE_FOLDERS:
        hashed = [source_root / "src" / "csdp", source_root / "pyproject.toml"] if folder == PLATFORM else []
        prepare = _wheel_maker(source_root) if folder == PLATFORM else None
        results.append(
            build_folder_image(
                source_root / "deploy" / folder,
                image_name(folder, settings),
                settings,
                hashed_sources=hashed,
                prepare_context=prepare,
                force=force,
                progress=progress,
            )
        )
    return results


def _wheel_maker(source_root: Path):
    def make_wheels(context: Path, progress: Progress) -> None:
        wheels = context / "wheels"
        command = [
            sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels),
            f"{source_root}[server]", *EXTRA_REQUIREMENTS,
        ]
        progress(f"{PLATFORM}: collecting wheels of csdp[server] and {', '.join(EXTRA_REQUIREMENTS)}")
        log.info("running %s", " ".join(command))
        try:
            completed = subprocess.run(command, capture_output=True, text=True, timeout=WHEEL_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            raise ImageBuildError(
                f"pip wheel for the platform image timed out after {WHEEL_TIMEOUT_SECONDS} s; check the package index",
                image=PLATFORM, step="pip wheel",
            ) from exc
        if completed.returncode != 0:
            tail = " | ".join(completed.stderr.strip().splitlines()[-5:])
            raise ImageBuildError(
                f"pip wheel for the platform image failed with exit code {completed.returncode}: {tail}; "
                "check that pip on this host can reach a package index",
                image=PLATFORM, step="pip wheel",
            )

    return make_wheels
