"""Prometheus metrics at ``/metrics``: jobs by state and action, job durations, containers by service and user.

The values are read from Redis and the container engine at scrape time, so
every API process and replica returns the same numbers and no multiprocess
setup of prometheus_client is needed. A source that cannot be read is
reported by ``csdp_metrics_source_up`` and its metrics are left out.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Callable, Iterable, Iterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from starlette.concurrency import run_in_threadpool

from csdp.runtime.base import ContainerInfo
from csdp.wire import JobRecord

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"
JOB_STATES = ("queued", "running", "succeeded", "failed")
# Upper bounds of the job duration buckets, in seconds: from one quick stop
# to a start of many replicas with large uploads.
DURATION_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

JobSource = Callable[[], Iterable[JobRecord]]
ContainerSource = Callable[[], Iterable[ContainerInfo]]


def _all_jobs() -> list[JobRecord]:
    from csdp.workflows.jobs import JobStore

    return JobStore().list_in_states(JOB_STATES)


def _all_containers() -> list[ContainerInfo]:
    from csdp.runtime import get_runtime

    return get_runtime().list()


class PlatformCollector:
    """A prometheus_client collector that reads job records and containers on each scrape."""

    def __init__(self, jobs: JobSource = _all_jobs, containers: ContainerSource = _all_containers) -> None:
        self._jobs = jobs
        self._containers = containers

    def describe(self) -> list[Metric]:
        # Nothing to describe up front: reading the sources at registration would need Redis and the engine.
        return []

    def collect(self) -> Iterator[Metric]:
        source_up = GaugeMetricFamily(
            "csdp_metrics_source_up", "1 if the source of the metrics could be read in this scrape, else 0.",
            labels=["source"],
        )
        try:
            records = list(self._jobs())
        except Exception as exc:  # a scrape must succeed even when Redis is down
            log.warning("metrics: cannot read job records: %s", exc)
            source_up.add_metric(["redis"], 0)
        else:
            source_up.add_metric(["redis"], 1)
            yield from _job_metrics(records)
        try:
            infos = list(self._containers())
        except Exception as exc:  # likewise when the engine does not respond
            log.warning("metrics: cannot list containers: %s", exc)
            source_up.add_metric(["engine"], 0)
        else:
            source_up.add_metric(["engine"], 1)
            yield from _container_metrics(infos)
        yield source_up


def _job_metrics(records: list[JobRecord]) -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "csdp_jobs", "Job records kept in Redis (for CSDP_JOB_TTL_SECONDS), by state and action.",
        labels=["state", "action"],
    )
    counts = Counter((record.state, record.action) for record in records)
    for (state, action), count in sorted(counts.items()):
        jobs.add_metric([state, action], count)
    yield jobs

    durations = HistogramMetricFamily(
        "csdp_job_duration_seconds", "Time from acceptance to the end of finished jobs still kept in Redis, by action and state.",
        labels=["action", "state"],
    )
    grouped: dict[tuple[str, str], list[float]] = defaultdict(list)
    for record in records:
        if record.finished is not None:
            grouped[(record.action, record.state)].append(max((record.finished - record.created).total_seconds(), 0.0))
    for (action, state), values in sorted(grouped.items()):
        buckets = [(_bucket_name(bound), sum(1 for value in values if value <= bound)) for bound in DURATION_BUCKETS]
        buckets.append(("+Inf", len(values)))
        durations.add_metric([action, state], buckets, sum(values))
    yield durations


def _bucket_name(bound: float) -> str:
    return repr(bound)


def _container_metrics(infos: list[ContainerInfo]) -> Iterator[Metric]:
    by_service = GaugeMetricFamily(
        "csdp_containers", "Managed service containers, by service and engine status.", labels=["service", "status"]
    )
    for (service, status), count in sorted(Counter((info.service, info.status) for info in infos).items()):
        by_service.add_metric([service, status], count)
    yield by_service

    by_user = GaugeMetricFamily(
        "csdp_user_containers", "Managed service containers, by owner and service.", labels=["owner", "service"]
    )
    for (owner, service), count in sorted(Counter((info.owner, info.service) for info in infos).items()):
        by_user.add_metric([owner, service], count)
    yield by_user


def make_registry(collector: PlatformCollector | None = None) -> CollectorRegistry:
    """Return a registry holding only the platform collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector or PlatformCollector())
    return registry


def add_metrics(app: FastAPI, registry: CollectorRegistry | None = None) -> None:
    """Serve the registry at ``/metrics`` (outside ``/api/v1``, where Prometheus looks by default)."""
    registry = registry or make_registry()

    @app.get(METRICS_PATH, include_in_schema=False)
    async def metrics() -> Response:
        # Reading Redis and the engine blocks, so it runs off the event loop.
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
