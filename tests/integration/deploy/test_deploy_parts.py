"""Parts of the deployment that need no engine: the settings file, JSON logging and the metrics collector."""

from __future__ import annotations

import json
import logging
import stat
from datetime import datetime, timedelta, timezone

from prometheus_client import generate_latest

from csdp.api.metrics import PlatformCollector, make_registry
from csdp.deploy.envfile import DeployPaths, read_env_file, stack_values, write_env_file
from csdp.logging_setup import JsonFormatter
from csdp.runtime.base import ContainerInfo
from csdp.wire import JobRecord

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _paths(tmp_path) -> DeployPaths:
    return DeployPaths(tmp_path / "deploy", "csdptest")


def test_env_file_mode_and_secrets(tmp_path):
    paths = _paths(tmp_path)
    values = stack_values(paths, {})
    write_env_file(paths.env_file, values)

    mode = stat.S_IMODE(paths.env_file.stat().st_mode)
    assert mode == 0o600
    assert len(values["CSDP_RABBITMQ_PASSWORD"]) == 48
    assert values["CSDP_RABBITMQ_PASSWORD"] != values["CSDP_REDIS_PASSWORD"]
    assert values["CSDP_BROKER_URL"] == f"amqp://csdp:{values['CSDP_RABBITMQ_PASSWORD']}@rabbitmq:5672//"
    assert values["CSDP_REDIS_URL"] == f"redis://:{values['CSDP_REDIS_PASSWORD']}@redis:6379/0"
    assert read_env_file(paths.env_file) == values


def test_env_file_keeps_secrets(tmp_path):
    paths = _paths(tmp_path)
    first = stack_values(paths, {})
    write_env_file(paths.env_file, first)

    second = stack_values(paths, {"CSDP_RABBITMQ_PASSWORD": "from-shell", "CSDP_MAX_TTL_SECONDS": "7200"})

    assert second["CSDP_RABBITMQ_PASSWORD"] == first["CSDP_RABBITMQ_PASSWORD"]
    assert second["CSDP_MAX_TTL_SECONDS"] == "7200"


def test_env_file_ignores_stack_keys(tmp_path):
    environ = {
        "CSDP_REDIS_URL": "redis://127.0.0.1:6379/15",
        "CSDP_STAGING_DIR": "/tmp/x",
        "CSDP_URL": "http://client",
        "CSDP_NETWORK_NAME": "csdp-lan",
        "CSDP_WORKER_STOP_GRACE": "30s",
    }

    values = stack_values(_paths(tmp_path), environ)

    assert values["CSDP_REDIS_URL"].endswith("@redis:6379/0")
    assert "CSDP_STAGING_DIR" not in values
    assert "CSDP_URL" not in values
    assert values["CSDP_NETWORK_NAME"] == "csdp-lan"
    assert values["CSDP_WORKER_STOP_GRACE"] == "30s"


def _record(level=logging.INFO, **extra) -> logging.LogRecord:
    logger = logging.getLogger("csdp.test")
    return logger.makeRecord("csdp.test", level, __file__, 1, "started %s", ("syslog",), None, extra=extra)


def test_json_formatter_context_keys():
    line = JsonFormatter().format(_record(job_id="abc123", container_id="c0ffee"))
    entry = json.loads(line)

    assert entry["message"] == "started syslog"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "csdp.test"
    assert entry["job_id"] == "abc123"
    assert entry["container_id"] == "c0ffee"
    assert "\n" not in line


def test_json_formatter_without_context():
    entry = json.loads(JsonFormatter().format(_record()))

    assert "job_id" not in entry
    assert "container_id" not in entry


def test_json_formatter_exception():
    try:
        raise ValueError("bad value 7")
    except ValueError:
        import sys

        record = logging.getLogger("csdp.test").makeRecord("csdp.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))

    assert "ValueError: bad value 7" in entry["exception"]


def _job(state: str, action: str, seconds: float | None) -> JobRecord:
    finished = NOW + timedelta(seconds=seconds) if seconds is not None else None
    return JobRecord(id="j", owner="ann", service="syslog", action=action, state=state, created=NOW, finished=finished)


def _container(owner: str, service: str) -> ContainerInfo:
    return ContainerInfo(
        id="c", name="n", service=service, owner=owner, job_id="j", replica=0, ip_address=None,
        ipv6_address=None, ports=(), status="running", created=NOW,
    )


def test_metrics_jobs_and_containers():
    jobs = [_job("succeeded", "start", 3.0), _job("succeeded", "start", 40.0), _job("running", "start", None)]
    containers = [_container("ann", "syslog"), _container("ann", "syslog"), _container("bob", "webhook")]
    text = generate_latest(make_registry(PlatformCollector(lambda: jobs, lambda: containers))).decode()

    assert 'csdp_jobs{action="start",state="succeeded"} 2.0' in text
    assert 'csdp_jobs{action="start",state="running"} 1.0' in text
    assert 'csdp_job_duration_seconds_bucket{action="start",le="5.0",state="succeeded"} 1.0' in text
    assert 'csdp_job_duration_seconds_count{action="start",state="succeeded"} 2.0' in text
    assert 'csdp_job_duration_seconds_sum{action="start",state="succeeded"} 43.0' in text
    assert 'csdp_containers{service="syslog",status="running"} 2.0' in text
    assert 'csdp_user_containers{owner="bob",service="webhook"} 1.0' in text


def test_metrics_source_down():
    def broken():
        raise ConnectionError("Redis at redis:6379 refused the connection")

    text = generate_latest(make_registry(PlatformCollector(broken, lambda: []))).decode()

    assert 'csdp_metrics_source_up{source="redis"} 0.0' in text
    assert 'csdp_metrics_source_up{source="engine"} 1.0' in text
    assert "csdp_jobs{" not in text


def test_pending_services_counts_healthy():
    from csdp.deploy.compose import ServiceContainer
    from csdp.deploy.stack import _pending_services

    containers = [
        ServiceContainer("api", "p_api_1", "a1", "running", "healthy"),
        ServiceContainer("api", "p_api_2", "a2", "running", "starting"),
        ServiceContainer("worker", "p_worker_1", "w1", "running", "healthy"),
        ServiceContainer("redis", "p_redis_1", "r1", "restarting", "unhealthy"),
    ]

    pending = _pending_services(containers, {"api": 2, "worker": 1, "redis": 1, "nginx": 1})

    assert pending == ["api", "redis", "nginx"]
