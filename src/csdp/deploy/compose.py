"""Running docker-compose 1.x for one project, and reading the state of its containers from the engine."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors

from csdp.errors import InvalidInput, RuntimeFailure

log = logging.getLogger(__name__)

# Debian's docker-compose 1.29; the newer client plugin is not installed here.
COMPOSE_BINARIES = ("/usr/bin/docker-compose", "docker-compose")
LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_NUMBER = "com.docker.compose.container-number"
# Passed from the caller's environment to docker-compose; other variables
# (CSDP_* of a developer shell in particular) must not leak into the interpolation.
PASSED_VARIABLES = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")
COMMAND_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class ServiceContainer:
    """One container of the compose project, as the engine reports it."""

    service: str
    name: str
    id: str
    status: str
    health: str | None

    @property
    def healthy(self) -> bool:
        return self.status == "running" and self.health in ("healthy", None)


def compose_binary() -> str:
    """Return the path of docker-compose, or raise InvalidInput naming the package to install."""
    for candidate in COMPOSE_BINARIES:
        found = shutil.which(candidate)
        if found:
            return found
    raise InvalidInput("docker-compose is not installed; install it with apt-get install docker-compose")


class ComposeProject:
    """docker-compose commands for one project name, compose file and settings file."""

    def __init__(self, compose_file: Path, env_file: Path, project: str) -> None:
        self.compose_file = compose_file
        self.env_file = env_file
        self.project = project

    def command(self, *arguments: str) -> list[str]:
        return [
            compose_binary(), "--project-name", self.project, "--file", str(self.compose_file),
            "--env-file", str(self.env_file), *arguments,
        ]

    def run(self, *arguments: str, capture: bool = False, timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
        """Run one docker-compose command and return its output when ``capture``; raise RuntimeFailure if it fails."""
        command = self.command(*arguments)
        environment = {key: os.environ[key] for key in PASSED_VARIABLES if key in os.environ}
        environment["CSDP_DEPLOY_ENV_FILE"] = str(self.env_file)
        log.info("running docker-compose %s for project %s", " ".join(arguments), self.project)
        try:
            completed = subprocess.run(
                command, env=environment, text=True, timeout=timeout,
                stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None,
            )
        except subprocess.TimeoutExpired as exc:
            raise RuntimeFailure(f"docker-compose {arguments[0]} for project {self.project} timed out after {timeout:.0f} s") from exc
        if completed.returncode != 0:
            detail = (completed.stderr or "").strip().splitlines()[-5:] if capture else ["see the output above"]
            raise RuntimeFailure(
                f"docker-compose {' '.join(arguments)} for project {self.project} failed with exit code "
                f"{completed.returncode}: {' | '.join(detail)}"
            )
        return completed.stdout or ""

    def containers(self, client: docker.DockerClient) -> list[ServiceContainer]:
        """Return the project's containers, stopped ones included, ordered by service and number."""
        found = []
        for container in client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={self.project}"}, ignore_removed=True):
            state = container.attrs.get("State", {})
            health = (state.get("Health") or {}).get("Status")
            found.append(ServiceContainer(
                service=container.labels.get(LABEL_SERVICE, "?"),
                name=container.name,
                id=container.id,
                status=state.get("Status", container.status),
                health=health,
            ))
        return sorted(found, key=lambda item: (item.service, item.name))


def last_log_lines(client: docker.DockerClient, container_id: str, lines: int = 20) -> str:
    """Return the last ``lines`` lines of a container's output, or why they are unavailable."""
    try:
        return client.containers.get(container_id).logs(tail=lines).decode("utf-8", "replace").rstrip()
    except docker.errors.APIError as exc:
        return f"(logs unavailable: {exc})"


def last_health_output(client: docker.DockerClient, container_id: str) -> str:
    """Return the output of the container's most recent health check, or an empty string."""
    try:
        checks = (client.containers.get(container_id).attrs.get("State", {}).get("Health") or {}).get("Log") or []
    except docker.errors.APIError:
        return ""
    return (checks[-1].get("Output") or "").strip() if checks else ""
