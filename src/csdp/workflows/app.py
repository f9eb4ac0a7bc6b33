"""The Celery application: RabbitMQ as broker, Redis as result backend.

Run a worker with::

    celery -A csdp.workflows.app worker -P threads -c 8 -Q realtime,scheduled

(``-c`` is ``CSDP_WORKER_CONCURRENCY``; with ``CSDP_QUEUE_PREFIX`` set, prefix
both queue names.) Run the housekeeping schedule with
``celery -A csdp.workflows.app beat`` in one process of the deployment.

Tasks use the thread pool because they wait on the Docker engine, not on the
CPU. Messages are acknowledged after the task ends, so a task of a killed worker
goes back to the queue. Every task is therefore safe to run twice.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger
from kombu import Exchange, Queue

from csdp.settings import Settings, get_settings

REALTIME = "realtime"
SCHEDULED = "scheduled"
# Priorities 0 to 9 are used; RabbitMQ needs the maximum declared on the queue.
MAX_PRIORITY = 10
USER_PRIORITY = 5


def queue_name(kind: str, settings: Settings | None = None) -> str:
    """Return the full name of the ``realtime`` or ``scheduled`` queue, with the configured prefix."""
    settings = settings or get_settings()
    return f"{settings.queue_prefix}{kind}"


def make_app(settings: Settings | None = None) -> Celery:
    """Build the Celery app from settings; nothing here configures logging."""
    settings = settings or get_settings()
    celery_app = Celery("csdp", broker=settings.broker_url, backend=settings.redis_url)
    celery_app.conf.update(app_config(settings))
    return celery_app


def apply_settings(celery_app: Celery, settings: Settings) -> None:
    """Reconfigure an existing app after the settings changed, such as queue names in a test session."""
    celery_app.conf.update(app_config(settings), broker_url=settings.broker_url, result_backend=settings.redis_url)
    # Celery caches the queue table and router on first use.
    for name in ("default_queue", "queues", "router", "default_exchange"):
        celery_app.amqp.__dict__.pop(name, None)


def app_config(settings: Settings) -> dict:
    """Return the Celery configuration for ``settings``."""
    realtime = queue_name(REALTIME, settings)
    scheduled = queue_name(SCHEDULED, settings)
    return dict(
        task_queues=(
            Queue(realtime, Exchange(realtime), routing_key=realtime, queue_arguments={"x-max-priority": MAX_PRIORITY}),
            Queue(scheduled, Exchange(scheduled), routing_key=scheduled),
        ),
        task_default_queue=realtime,
        task_default_exchange=realtime,
        task_default_routing_key=realtime,
        task_default_priority=USER_PRIORITY,
        task_routes={
            "csdp.workflows.housekeeping.*": {"queue": scheduled, "routing_key": scheduled},
            "csdp.workflows.image_refresh_task.*": {"queue": scheduled, "routing_key": scheduled},
        },
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        result_expires=settings.result_ttl_seconds,
        result_extended=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # NOTE: the thread pool does not enforce time limits (Celery applies them
        # with signals in prefork children); runtime calls carry their own timeouts.
        task_time_limit=settings.task_time_limit_seconds,
        task_soft_time_limit=max(settings.task_time_limit_seconds - 5, 5),
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            "housekeeping": {
                "task": "csdp.workflows.housekeeping.housekeeping",
                "schedule": float(settings.housekeeping_interval_seconds),
                "options": {"queue": scheduled, "routing_key": scheduled},
            },
            # Rebuilds images whose Debian package, such as chromium, has a newer version.
            "image-refresh": {
                "task": "csdp.workflows.image_refresh_task.refresh_version_images",
                "schedule": float(settings.image_refresh_interval_seconds),
                "options": {"queue": scheduled, "routing_key": scheduled, "expires": float(settings.image_refresh_interval_seconds)},
            },
            # Starts due schedules, which live in Redis rather than as ETA tasks in the broker.
            "dispatch-schedules": {
                "task": "csdp.workflows.schedules.dispatch_due",
                "schedule": float(settings.schedule_interval_seconds),
                "options": {"queue": scheduled, "routing_key": scheduled, "expires": float(settings.schedule_interval_seconds)},
            },
        },
        include=["csdp.workflows.tasks", "csdp.workflows.housekeeping", "csdp.workflows.schedules", "csdp.workflows.image_refresh_task"],
    )


@after_setup_logger.connect
@after_setup_task_logger.connect
def _use_json_logs(logger, **kwargs) -> None:
    """Switch the handlers that Celery installed to JSON lines when ``CSDP_LOG_FORMAT=json``."""
    if get_settings().log_format == "json":
        from csdp.logging_setup import use_json_handlers

        use_json_handlers(logger)


app = make_app()
