"""``csdp deploy up``, ``down`` and ``status`` for one compose project."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from csdp.deploy.compose import ComposeProject, ServiceContainer, last_health_output, last_log_lines
from csdp.deploy.envfile import DeployPaths, settings_from, stack_values, write_env_file, write_private_file
from csdp.deploy.images import build_platform_images, find_source_root
from csdp.errors import OperationTimeout, RuntimeFailure

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

# One replica each unless scaled; beat must stay at one.
SERVICES = ("rabbitmq", "redis", "api", "worker", "beat", "flower", "nginx")
HEALTH_TIMEOUT_SECONDS = 300.0
POLL_SECONDS = 2.0
LOG_LINES = 20
DEFAULT_ADMIN = "admin"


@dataclass(frozen=True)
class UpOptions:
    """Options of ``csdp deploy up``."""

    state_dir: Path
    project: str
    api_replicas: int = 1
    workers: int = 1
    http_port: int | None = None
    flower_port: int | None = None
    admin_name: str = DEFAULT_ADMIN
    source: Path | None = None
    build_service_images: bool = True
    force_build: bool = False
    health_timeout: float = HEALTH_TIMEOUT_SECONDS


@dataclass
class UpResult:
    """The outcome of ``csdp deploy up``: where the API is and the admin's token when it is known."""

    url: str
    flower_url: str
    admin_name: str | None
    admin_token: str | None
    admin_created: bool
    env_file: Path
    containers: list[ServiceContainer] = field(default_factory=list)


def _project(paths: DeployPaths, source: Path | None) -> ComposeProject:
    root = find_source_root(source)
    return ComposeProject(root / "deploy" / "docker-compose.yml", paths.env_file, paths.project)


def up(options: UpOptions, progress: Progress) -> UpResult:
    """Start or update the stack and return its URL and admin token.

    Raises OperationTimeout naming each service that is not healthy in time,
    with its last log lines.
    """
    from csdp.catalog import load_catalog
    from csdp.engine import ensure_engine
    from csdp.runtime.images import build_service_images, engine_client
    from csdp.runtime.network import ensure_network

    paths = DeployPaths(options.state_dir, options.project)
    source_root = find_source_root(options.source)
    compose = _project(paths, source_root)

    # Settings file first: the images and the network follow from it.
    values = stack_values(paths, os.environ, http_port=options.http_port, flower_port=options.flower_port)
    write_env_file(paths.env_file, values)
    settings = settings_from(values)
    progress(f"settings: {paths.env_file}")

    ensure_engine(progress, settings)
    build_platform_images(source_root, settings, force=options.force_build, progress=progress)
    if options.build_service_images:
        build_service_images(load_catalog(settings.services_path), settings, force=options.force_build, progress=progress)

    client = engine_client(settings)
    try:
        network = ensure_network(client, settings)
        progress(f"service network {network.name}: {network.subnet_v4}, {network.subnet_v6}")

        compose.run(
            "up", "--detach", "--remove-orphans",
            "--scale", f"api={options.api_replicas}", "--scale", f"worker={options.workers}", "--scale", "beat=1",
        )
        expected = {name: 1 for name in SERVICES} | {"api": options.api_replicas, "worker": options.workers}
        containers = wait_healthy(compose, client, expected, options.health_timeout, progress)
    finally:
        client.close()

    admin_name, token, created = _ensure_admin(compose, paths, options.admin_name)
    flower_host = values.get("CSDP_DEPLOY_FLOWER_BIND") or "127.0.0.1"
    return UpResult(
        url=values["CSDP_PUBLIC_URL"],
        flower_url=f"http://{flower_host}:{values['CSDP_DEPLOY_FLOWER_PORT']}/",
        admin_name=admin_name,
        admin_token=token,
        admin_created=created,
        env_file=paths.env_file,
        containers=containers,
    )


def wait_healthy(
    compose: ComposeProject, client, expected: dict[str, int], timeout: float, progress: Progress
) -> list[ServiceContainer]:
    """Wait until each service has its expected number of healthy containers and return them.

    Raises OperationTimeout naming every service that is not ready, with the
    state, the last health check output and the last log lines of its containers.
    """
    deadline = time.monotonic() + timeout
    reported: set[str] = set()
    while True:
        containers = compose.containers(client)
        pending = _pending_services(containers, expected)
        for service in expected:
            if service not in pending and service not in reported:
                reported.add(service)
                progress(f"{service}: healthy")
        if not pending:
            return containers
        if time.monotonic() > deadline:
            raise OperationTimeout(_unhealthy_report(compose, client, containers, pending, timeout))
        time.sleep(POLL_SECONDS)


def _pending_services(containers: list[ServiceContainer], expected: dict[str, int]) -> list[str]:
    pending = []
    for service, count in expected.items():
        healthy = [item for item in containers if item.service == service and item.healthy and item.health == "healthy"]
        if len(healthy) < count:
            pending.append(service)
    return pending


def _unhealthy_report(
    compose: ComposeProject, client, containers: list[ServiceContainer], pending: list[str], timeout: float
) -> str:
    parts = [f"services of project {compose.project} not healthy after {timeout:.0f} s: {', '.join(pending)}"]
    for item in containers:
        if item.service not in pending or item.health == "healthy":
            continue
        parts.append(f"--- {item.name}: {item.status}, health {item.health or 'none'}")
        check = last_health_output(client, item.id)
        if check:
            parts.append(f"last health check: {check[-500:]}")
        parts.append(last_log_lines(client, item.id, LOG_LINES))
    for service in pending:
        if not any(item.service == service for item in containers):
            parts.append(f"--- {service}: no container; see docker-compose -p {compose.project} logs {service}")
    parts.append("fix the cause and run csdp deploy up again; csdp deploy status shows the state")
    return "\n".join(parts)


def _ensure_admin(compose: ComposeProject, paths: DeployPaths, name: str) -> tuple[str | None, str | None, bool]:
    """Add the admin when none exists and return its name, its token (saved mode 0600) and whether it was created."""
    output = compose.run("exec", "-T", "api", "python3", "-m", "csdp.deploy.bootstrap", name, capture=True)
    try:
        answer = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise RuntimeFailure(f"the admin check in the api container returned no JSON: {output[-300:]!r}") from exc

    if answer.get("created"):
        token = answer["token"]
        write_private_file(paths.admin_token_file, f"{name}\n{token}\n")
        log.info("added admin %s to deployment %s", name, paths.project)
        return name, token, True

    saved = _read_saved_token(paths.admin_token_file)
    admins = answer.get("admins") or []
    if saved is not None and saved[0] in admins:
        return saved[0], saved[1], False
    return (admins[0] if admins else None), None, False


def _read_saved_token(path: Path) -> tuple[str, str] | None:
    try:
        lines = path.read_text(encoding="utf-8").split()
    except FileNotFoundError:
        return None
    return (lines[0], lines[1]) if len(lines) >= 2 else None


def down(state_dir: Path, project: str, *, volumes: bool = False, source: Path | None = None) -> None:
    """Stop and remove the project's containers and its internal network; volumes only with ``volumes``.

    Service containers and the service network stay: they belong to users, not to the stack.
    """
    compose = _project(DeployPaths(state_dir, project), source)
    arguments = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
    compose.run(*arguments)


def status(state_dir: Path, project: str, *, source: Path | None = None) -> list[ServiceContainer]:
    """Return the project's containers with their state and health."""
    from csdp.runtime.images import engine_client
    from csdp.settings import get_settings

    compose = _project(DeployPaths(state_dir, project), source)
    client = engine_client(get_settings())
    try:
        return compose.containers(client)
    finally:
        client.close()
