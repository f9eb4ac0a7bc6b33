"""Session-wide test fixtures: leftovers are removed by label, and a failing
test shows the logs of the containers it created."""

from __future__ import annotations

import logging
import os

import pytest

# Tests run against a separate network and Redis database so they never touch a
# running deployment on the same machine.
os.environ.setdefault("CSDP_NETWORK_NAME", "csdp-test")
os.environ.setdefault("CSDP_SUBNET_V4", "10.214.0.0/16")
os.environ.setdefault("CSDP_SUBNET_V6", "fd5c:5d9e:2::/64")
os.environ.setdefault("CSDP_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("CSDP_STAGING_DIR", "/tmp/csdp-test-staging")

log = logging.getLogger(__name__)

TEST_OWNER_PREFIX = "test-"


def _docker_client():
    import docker

    return docker.from_env(timeout=30)


def _remove_test_containers() -> int:
    """Remove every managed container whose owner starts with the test prefix."""
    from csdp.runtime.base import LABEL_MANAGED, LABEL_OWNER

    client = _docker_client()
    removed = 0
    for container in client.containers.list(all=True, filters={"label": LABEL_MANAGED}):
        if container.labels.get(LABEL_OWNER, "").startswith(TEST_OWNER_PREFIX):
            try:
                container.remove(force=True)
                removed += 1
            except Exception as exc:  # a container removed concurrently is fine
                log.warning("cannot remove leftover container %s: %s", container.short_id, exc)
    return removed


@pytest.fixture(scope="session", autouse=True)
def remove_leftovers(request):
    """Remove test containers before and after the session, even after failures."""
    if not _engine_available():
        yield
        return
    _remove_test_containers()
    yield
    removed = _remove_test_containers()
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
    from csdp.runtime.base import LABEL_OWNER

    parts = []
    for container in _docker_client().containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner}"}):
        output = container.logs(tail=50).decode("utf-8", "replace")
        parts.append(f"--- {container.name} ({container.status})\n{output}")
    return "\n".join(parts) or f"no containers of owner {owner}"


@pytest.fixture
def owner(request) -> str:
    """A fresh owner name for one test; the session fixture removes its containers."""
    import uuid

    return f"{TEST_OWNER_PREFIX}{request.node.name[:20].lower().replace('[', '-').replace(']', '')}-{uuid.uuid4().hex[:6]}"
