"""Find a running Docker engine, or install and start one on a Debian host.

``csdp engine up`` calls ``ensure_engine``. Only a local Debian host run as root
is set up automatically; anywhere else the error names what to install.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

from csdp.errors import EngineUnavailable
from csdp.runtime.images import ping_engine
from csdp.settings import Settings, get_settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

DEBIAN_VERSION_FILE = Path("/etc/debian_version")
DAEMON_JSON = Path("/etc/docker/daemon.json")
DOCKERD_LOG = Path("/var/log/csdp-dockerd.log")
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
START_TIMEOUT_SECONDS = 60.0
# dockerd 20.10 writes no ip6tables rules without both keys, so IPv6 traffic
# would cross between service networks.
REQUIRED_DAEMON_SETTINGS: dict[str, Any] = {"experimental": True, "ip6tables": True}
INSTALL_HINT = (
    "install Docker Engine (on Debian: apt-get install docker.io; elsewhere see "
    "https://docs.docker.com/engine/install/), start it, or point DOCKER_HOST at a running engine"
)


def _ignore_progress(line: str) -> None:
    pass


def ensure_engine(progress: Progress = _ignore_progress, settings: Settings | None = None) -> str:
    """Return the version of a running engine, installing and starting dockerd on Debian when needed.

    Raises EngineUnavailable with what to install when no engine responds and
    this host cannot be set up automatically, or when dockerd does not respond
    within ``START_TIMEOUT_SECONDS``.
    """
    settings = settings or get_settings()
    try:
        version = ping_engine(settings)
    except EngineUnavailable as exc:
        first_error = exc
    else:
        progress(f"engine {version} is running")
        _warn_missing_daemon_settings(progress)
        return version

    log.info("no engine responds: %s", first_error.message)
    _check_host_can_run_dockerd(settings, first_error)

    if shutil.which("dockerd") is None:
        _install_docker(progress)
    if merge_daemon_settings(DAEMON_JSON):
        progress(f"wrote {', '.join(REQUIRED_DAEMON_SETTINGS)} to {DAEMON_JSON}")
    process = _start_dockerd(progress)
    return _wait_for_engine(settings, process, progress)


def _check_host_can_run_dockerd(settings: Settings, first_error: EngineUnavailable) -> None:
    """Raise EngineUnavailable unless a local dockerd can be installed and started here."""
    configured = settings.docker_host or os.environ.get("DOCKER_HOST")
    if configured and configured != DEFAULT_SOCKET:
        raise EngineUnavailable(
            f"the engine at {configured} does not respond ({first_error.message}); start it there, "
            "or unset DOCKER_HOST and CSDP_DOCKER_HOST to use a local engine"
        )
    if not DEBIAN_VERSION_FILE.is_file():
        raise EngineUnavailable(f"no container engine responds and this host is not Debian: {INSTALL_HINT}")
    if os.geteuid() != 0:
        raise EngineUnavailable(
            "no container engine responds and starting dockerd needs root: run `csdp engine up` as root, "
            f"or {INSTALL_HINT}"
        )


def merge_daemon_settings(path: Path) -> bool:
    """Add the required dockerd settings to ``path``, keeping every other key; return True if the file changed.

    Raises EngineUnavailable when the existing file is not a JSON object, since
    rewriting it would lose the operator's settings.
    """
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text(encoding="utf-8") or "{}")
        except json.JSONDecodeError as exc:
            raise EngineUnavailable(f"{path} is not valid JSON ({exc}); fix or remove it and run again") from exc
        if not isinstance(current, dict):
            raise EngineUnavailable(f"{path} must contain a JSON object; fix or remove it and run again")

    merged = {**current, **REQUIRED_DAEMON_SETTINGS}
    if merged == current:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("updated %s with %s", path, REQUIRED_DAEMON_SETTINGS)
    return True


def _warn_missing_daemon_settings(progress: Progress) -> None:
    """Tell the operator when a running local engine lacks the settings that isolate IPv6 traffic."""
    try:
        current = json.loads(DAEMON_JSON.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        current = {}
    missing = [key for key, value in REQUIRED_DAEMON_SETTINGS.items() if current.get(key) != value]
    if missing and DEBIAN_VERSION_FILE.is_file():
        message = (
            f"{DAEMON_JSON} lacks {', '.join(missing)}: without them dockerd 20.10 lets IPv6 traffic cross "
            "between networks; add them and restart dockerd"
        )
        log.warning(message)
        progress(message)


def _install_docker(progress: Progress) -> None:
    progress("dockerd is not installed; installing docker.io with apt-get")
    log.info("installing docker.io with apt-get")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "docker.io"]):
        result = subprocess.run(command, env=environment, capture_output=True, text=True)
        if result.returncode != 0:
            tail = " | ".join(result.stderr.strip().splitlines()[-3:])
            raise EngineUnavailable(f"`{' '.join(command)}` failed with exit code {result.returncode}: {tail}")
    if shutil.which("dockerd") is None:
        raise EngineUnavailable(f"docker.io is installed but dockerd is not on PATH; {INSTALL_HINT}")


def _start_dockerd(progress: Progress) -> subprocess.Popen:
    DOCKERD_LOG.parent.mkdir(parents=True, exist_ok=True)
    with DOCKERD_LOG.open("ab") as log_file:
        # A new session keeps dockerd running after this process exits.
        process = subprocess.Popen(
            ["dockerd"],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    log.info("started dockerd (pid %d), log in %s", process.pid, DOCKERD_LOG)
    progress(f"started dockerd (pid {process.pid}), log in {DOCKERD_LOG}")
    return process


def _wait_for_engine(settings: Settings, process: subprocess.Popen, progress: Progress) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EngineUnavailable(
                f"dockerd exited with code {process.returncode} right after starting; read {DOCKERD_LOG} for the reason"
            )
        try:
            version = ping_engine(settings)
        except EngineUnavailable as exc:
            last_error = exc.message
            time.sleep(0.5)
            continue
        progress(f"engine {version} is running")
        return version
    raise EngineUnavailable(
        f"dockerd (pid {process.pid}) did not respond within {START_TIMEOUT_SECONDS:.0f} s ({last_error}); "
        f"read {DOCKERD_LOG} for the reason"
    )
