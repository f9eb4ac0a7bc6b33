"""Settings of the Celery app that the failure behaviour depends on."""

from __future__ import annotations

from csdp.settings import Settings
from csdp.workflows.app import make_app


def test_app_reliability_settings():
    conf = make_app(Settings(result_ttl_seconds=120, task_time_limit_seconds=30)).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.result_expires == 120
    assert conf.task_time_limit == 30
    assert conf.task_serializer == "json"
    assert conf.broker_connection_retry_on_startup is True


def test_app_queues_prefixed():
    conf = make_app(Settings(queue_prefix="t1-")).conf
    queues = {queue.name: queue for queue in conf.task_queues}
    assert set(queues) == {"t1-realtime", "t1-scheduled"}
    assert queues["t1-realtime"].queue_arguments == {"x-max-priority": 10}
    assert conf.task_default_queue == "t1-realtime"
    assert conf.beat_schedule["housekeeping"]["options"]["queue"] == "t1-scheduled"
