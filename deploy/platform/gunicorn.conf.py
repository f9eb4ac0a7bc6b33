"""Gunicorn settings of the API containers; each value can be changed through CSDP_API_* variables."""

import os

bind = "0.0.0.0:8000"
worker_class = "uvicorn.workers.UvicornWorker"
workers = int(os.environ.get("CSDP_API_PROCESSES", "2"))
# On SIGTERM a worker stops accepting connections and gets this long to finish
# the requests it is serving. The stop_grace_period of the api service in the
# compose file is longer, so the engine does not kill the worker first.
graceful_timeout = int(os.environ.get("CSDP_API_GRACEFUL_TIMEOUT", "30"))
# A worker that does not report to the arbiter for this long is restarted.
# Log follows and event streams run in the event loop and keep reporting.
timeout = int(os.environ.get("CSDP_API_TIMEOUT", "120"))
# Longer than nginx's upstream keepalive_timeout, so nginx closes idle
# connections first and never sends a request on a connection gunicorn just closed.
keepalive = 75
# nginx sends X-Forwarded-For and X-Forwarded-Proto; it is the only peer on the
# compose network that reaches this port.
forwarded_allow_ips = "*"
accesslog = "-"
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "csdp.logging_setup.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"level": os.environ.get("CSDP_LOG_LEVEL", "INFO"), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
}
