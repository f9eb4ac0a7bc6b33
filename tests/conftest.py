"""Session-wide test fixtures: leftovers are removed by label, and a failing
test shows the logs of the containers it created."""

from __future__ import annotations

import logging
import os
import time
import uuid
from datetime import datetime, timezone

import pytest

# Tests run against a separate network and Redis database so they never touch a
# running deployment on the same machine.
os.environ.setdefault("CSDP_NETWORK_NAME", "csdp-test")
os.environ.setdefault("CSDP_SUBNET_V4", "10.214.0.0/16")
os.environ.setdefault("CSDP_SUBNET_V6", "fd5c:5d9e:2::/64")
os.environ.setdefault("CSDP_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CSDP_STAGING_DIR", "/tmp/csdp-test-staging")
# A deployment of their own, so the housekeeping of a stack running on the same
# engine (such as the one scripts/demo leaves up) never takes test containers
# for its orphans.
os.environ.setdefault("CSDP_DEPLOYMENT", "test")

log = logging.getLogger(__name__)

TEST_OWNER_PREFIX = "test-"
# Each pytest session owns containers under its own owner prefix, so two sessions
# on one machine never remove each other's containers. Leftovers of earlier
# sessions are removed once they are older than STALE_SECONDS.
SESSION_PREFIX = f"{TEST_OWNER_PREFIX}{uuid.uuid4().hex[:4]}-"
STALE_SECONDS = 1800
os.environ["CSDP_TEST_SESSION_PREFIX"] = SESSION_PREFIX


def _docker_client():
    import docker

    return docker.from_env(timeout=30)


def _remove_test_containers(*, this_session_only: bool) -> int:
    """Remove this session's test containers, or those of any session that are stale."""
    import docker.errors

    from csdp.runtime.base import LABEL_MANAGED, LABEL_OWNER

    client = _docker_client()
    removed = 0
    containers = client.containers.list(all=True, filters={"label": LABEL_MANAGED}, ignore_removed=True)
    for container in containers:
        owner = container.labels.get(LABEL_OWNER, "")
        if this_session_only:
            wanted = owner.startswith(SESSION_PREFIX)
        else:
            wanted = owner.startswith(TEST_OWNER_PREFIX) and _age_seconds(container) > STALE_SECONDS
        if not wanted:
            continue
        try:
            container.remove(force=True)
            removed += 1
        except docker.errors.APIError as exc:
            # Already gone or being removed by the engine: nothing is left behind.
            log.warning("cannot remove leftover container %s: %s", container.short_id, exc)
    return removed


def _remove_stale_test_networks() -> None:
    """Remove empty test networks of earlier sessions, whose subnets would overlap with new ones."""
    import docker.errors

    client = _docker_client()
    for network in client.networks.list(names=["csdp-test"]):
        network.reload()
        if not network.name.startswith("csdp-test") or network.containers or _age_seconds(network) < STALE_SECONDS:
            continue
        try:
            network.remove()
        except docker.errors.APIError as exc:
            log.warning("cannot remove leftover network %s: %s", network.name, exc)


def _age_seconds(resource) -> float:
    """Return the age of a container or network from its engine creation time."""
    created = resource.attrs.get("Created", "")
    try:
        started = datetime.fromisoformat(created[:26].rstrip("Z")).replace(tzinfo=timezone.utc)
    except ValueError:
        return 0.0
    return time.time() - started.timestamp()


@pytest.fixture(scope="session", autouse=True)
def remove_leftovers(request):
    """Remove test containers before and after the session, even after failures."""
    if not _engine_available():
        yield
        return
    _remove_test_containers(this_session_only=False)
    _remove_stale_test_networks()
    yield
    removed = _remove_test_containers(this_session_only=True)
    if removed:
        log.warning("removed %d leftover test containers", removed)


def _engine_available() -> bool:
    try:
        _docker_client().ping()
    except Exception:
        return False
    return True


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed and _engine_available():
        owner = getattr(item, "funcargs", {}).get("owner")
        if isinstance(owner, str):
            report.sections.append(("container logs", _container_logs(owner)))
    return report


def _container_logs(owner: str) -> str:
    import docker.errors

    from csdp.runtime.base import LABEL_OWNER

    parts = []
    filters = {"label": f"{LABEL_OWNER}={owner}"}
    for container in _docker_client().containers.list(all=True, filters=filters, ignore_removed=True):
        try:
            output = container.logs(tail=50).decode("utf-8", "replace")
        except docker.errors.APIError as exc:
            output = f"(logs unavailable: {exc})"
        parts.append(f"--- {container.name} ({container.status})\n{output}")
    return "\n".join(parts) or f"no containers of owner {owner}"


@pytest.fixture
def owner(request) -> str:
    """A fresh owner name for one test; the session fixture removes its containers."""
    test_name = request.node.name[:20].lower().replace("[", "-").replace("]", "")
    return f"{SESSION_PREFIX}{test_name}-{uuid.uuid4().hex[:6]}"
