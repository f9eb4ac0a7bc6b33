"""Logging of the server processes: JSON lines for the API, the workers and beat in a deployment.

Nothing here runs at import. With ``CSDP_LOG_FORMAT=json``, the API factory,
Celery's logging signals and gunicorn's config use ``JsonFormatter``. With the
default ``text``, the logging setup of the host (uvicorn, Celery, pytest) is
left alone.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

# Attributes that callers pass with ``extra=``; each appears as a key of its own
# so that log lines can be filtered by job or container.
CONTEXT_KEYS = ("job_id", "container_id", "replica", "owner", "service", "task_id", "user")
# Loggers of servers that install their own handlers; their records go to the root handler instead.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "gunicorn.error", "gunicorn.access", "celery")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context keys present, and any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if "task_id" not in entry:
            entry.update(_current_task())
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _current_task() -> dict[str, str]:
    """Return the id and name of the Celery task running in this thread, if any."""
    celery_state = sys.modules.get("celery._state")
    if celery_state is None:
        return {}
    task = celery_state.get_current_task()
    if task is None or task.request.id is None:
        return {}
    return {"task_id": task.request.id, "task": task.name}


def configure_logging(log_format: str = "json", level: str | int = "INFO") -> None:
    """Send every record to stderr through one handler with the JSON or the plain text format.

    Safe to call more than once: the root handlers are replaced each time.
    """
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)

    for name in SERVER_LOGGERS:
        server_logger = logging.getLogger(name)
        server_logger.handlers.clear()
        server_logger.propagate = True


def use_json_handlers(logger: logging.Logger) -> None:
    """Give the handlers that Celery installed on ``logger`` the JSON format."""
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())


def configure_from_settings(settings) -> bool:
    """Configure JSON logging when ``settings.log_format`` is json; return whether it did."""
    if getattr(settings, "log_format", "text") != "json":
        return False
    configure_logging("json", getattr(settings, "log_level", "INFO"))
    return True
