"""Translation of Docker SDK errors into csdp errors, in one place."""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

import docker.errors
import requests.exceptions

from csdp.errors import Conflict, CsdpError, EngineUnavailable, NotFound, OperationTimeout, RuntimeFailure
from csdp.runtime.names import short_id

log = logging.getLogger(__name__)


def is_removal_in_progress(exc: docker.errors.APIError) -> bool:
    """Tell whether the engine rejected a request because the container is already being removed."""
    return exc.status_code == 409 and "in progress" in str(exc.explanation or exc)


def translate(
    exc: Exception, *, container: str | None = None, path: str | None = None, operation: str = "request"
) -> CsdpError:
    """Return the csdp error for an SDK or transport exception raised during ``operation``."""
    if isinstance(exc, docker.errors.NotFound):
        return _not_found(exc, container, path)
    if isinstance(exc, requests.exceptions.Timeout):
        return OperationTimeout(
            f"the container engine did not answer the {operation} in time; retry, or check the engine's load",
            container=container,
        )
    if isinstance(exc, (requests.exceptions.ConnectionError, ConnectionError)):
        return EngineUnavailable(
            f"cannot reach the container engine for the {operation} ({exc}); check that dockerd is running"
        )
    if isinstance(exc, docker.errors.APIError) and exc.status_code == 409 and "is not running" in str(exc):
        return Conflict(
            f"container {container} is not running, so the {operation} cannot run: start it first",
            container=container,
        )
    if isinstance(exc, docker.errors.APIError):
        target = f" on container {short_id(container)}" if container else ""
        return RuntimeFailure(
            f"the container engine failed the {operation}{target}: {exc.explanation or exc}",
            container=container,
            status_code=exc.status_code,
        )
    if isinstance(exc, docker.errors.DockerException):
        return EngineUnavailable(f"cannot use the container engine for the {operation}: {exc}")
    return RuntimeFailure(f"the container engine failed the {operation}: {exc}", container=container)


@contextlib.contextmanager
def engine_errors(
    operation: str, *, container: str | None = None, path: str | None = None, gone_ok: bool = False
) -> Iterator[None]:
    """Raise SDK errors inside the block as csdp errors.

    With ``gone_ok``, a container that does not exist (404) or is already
    being removed (409) ends the block quietly: the caller wanted it gone or stopped.
    """
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException, ConnectionError) as exc:
        if gone_ok and _is_gone(exc):
            log.info("%s: container %s is already gone", operation, short_id(container or "?"))
            return
        raise translate(exc, container=container, path=path, operation=operation) from exc


def _is_gone(exc: Exception) -> bool:
    if isinstance(exc, docker.errors.NotFound):
        return True
    return isinstance(exc, docker.errors.APIError) and is_removal_in_progress(exc)


def _not_found(exc: docker.errors.NotFound, container: str | None, path: str | None) -> NotFound:
    if path is not None and "no such container" not in str(exc.explanation or exc).lower():
        where = f" in container {short_id(container)}" if container else ""
        return NotFound(f"path {path} not found{where}: check the path", field="path", path=path)
    if container is not None:
        return NotFound(f"container {container} not found: list your containers to get a current id", container=container)
    return NotFound(f"not found: {exc.explanation or exc}")
