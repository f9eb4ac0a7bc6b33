"""Pushed results: the final job record goes to an AMQP topic exchange and, on request, by e-mail.

A client binds a queue to ``<owner>.<job id>`` on the durable topic exchange
``CSDP_RESULTS_EXCHANGE`` before it reads the job record, so it never misses
the message. Records hold secret parameters masked, so the body is safe to send.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from kombu import Exchange

from csdp.settings import get_settings
from csdp.wire import JobRecord

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 10


def results_exchange() -> Exchange:
    return Exchange(get_settings().results_exchange, type="topic", durable=True)


def routing_key(record: JobRecord) -> str:
    return f"{record.owner}.{record.id}"


def publish_result(record: JobRecord) -> None:
    """Publish ``record`` as a persistent JSON message; the exchange is declared if missing.

    Broker errors are retried by kombu a few times and then raised.
    """
    from csdp.workflows.app import app

    exchange = results_exchange()
    with app.producer_or_acquire() as producer:
        producer.publish(
            record.model_dump_json().encode("utf-8"),
            exchange=exchange,
            routing_key=routing_key(record),
            declare=[exchange],
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=2,
            retry=True,
            retry_policy={"max_retries": 3, "interval_start": 0.5, "interval_step": 1, "interval_max": 3},
        )
    log.info("job %s: published %s result to %s", record.id, record.state, routing_key(record))


def email_result(record: JobRecord, address: str) -> bool:
    """Send ``record`` to ``address`` over SMTP; return False when e-mail is off or sending failed.

    A failed e-mail is logged and not raised: the AMQP notification already went out.
    """
    settings = get_settings()
    if not settings.smtp_host:
        log.info("job %s: e-mail to %s skipped because CSDP_SMTP_HOST is not set", record.id, address)
        return False

    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = address
    summary = f"{record.action} of {record.service}" if record.service else record.action
    message["Subject"] = f"csdp job {record.id} {record.state}: {summary}"
    message.set_content(record.model_dump_json(indent=2))

    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("job %s: e-mail to %s via %s:%s failed: %s", record.id, address, settings.smtp_host, settings.smtp_port, exc)
        return False
    log.info("job %s: e-mailed the result to %s", record.id, address)
    return True
