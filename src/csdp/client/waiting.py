"""Wait for a job to end: pushed results over AMQP, or the API's SSE job stream.

The order matters for AMQP: bind a queue to ``<owner>.<job id>`` first, then
read the job over HTTP. A job that ended before the binding is seen by the read,
and one that ends after it is delivered to the queue, so neither is missed.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Protocol

from csdp.client.config import DEFAULT_RESULTS_EXCHANGE as RESULTS_EXCHANGE
from csdp.client.errors import ApiUnreachable, JobFailed, WaitTimeout
from csdp.errors import OperationTimeout
from csdp.wire import TERMINAL_STATES

if TYPE_CHECKING:
    from csdp.client.client import Client

log = logging.getLogger(__name__)

# While subscribed, the job is also read over HTTP this often: it shows step
# progress and covers a broker that dropped the message.
POLL_SECONDS = 5.0
BROKER_CONNECT_SECONDS = 3.0

JobCallback = Callable[[dict[str, Any]], None]


class Subscription(Protocol):
    """A bound queue of job records pushed by the server."""

    def next_record(self, timeout: float) -> dict[str, Any] | None:
        """Return the next pushed record, or None when none arrived within ``timeout`` seconds."""

    def close(self) -> None: ...


Subscriber = Callable[[str, str], Subscription]


def wait_for_job(
    client: Client,
    job_id: str,
    *,
    timeout: float,
    amqp_url: str | None = None,
    exchange: str = RESULTS_EXCHANGE,
    on_update: JobCallback | None = None,
    subscribe: Subscriber | None = None,
) -> dict[str, Any]:
    """Return the job record once it succeeded; raise JobFailed when it failed, WaitTimeout after ``timeout`` s."""
    deadline = time.monotonic() + timeout

    # The first read gives the owner for the routing key and ends the wait
    # early for a job that is already over.
    record = client.job(job_id)
    # The caller may give a unique prefix of the id; the routing key, the event
    # stream and the pushed records all use the full id.
    job_id = record.get("id") or job_id
    _notify(on_update, record)
    if record["state"] in TERMINAL_STATES:
        return _finish(record)

    subscription = None
    if amqp_url or subscribe:
        routing_key = f"{record['owner']}.{job_id}"
        try:
            subscription = (subscribe or _amqp_subscriber(amqp_url))(exchange, routing_key)
        except ApiUnreachable as exc:
            log.info("job %s: waiting through the API event stream because the broker is unreachable: %s", job_id, exc)
    if subscription is None:
        return _wait_by_events(client, job_id, deadline, on_update)
    try:
        return _wait_by_subscription(client, job_id, subscription, deadline, on_update)
    finally:
        subscription.close()


def _wait_by_subscription(
    client: Client, job_id: str, subscription: Subscription, deadline: float, on_update: JobCallback | None
) -> dict[str, Any]:
    record = client.job(job_id)
    while True:
        _notify(on_update, record)
        if record["state"] in TERMINAL_STATES:
            return _finish(record)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(job_id, record)
        pushed = subscription.next_record(min(POLL_SECONDS, remaining))
        record = pushed if pushed is not None and pushed.get("id") == job_id else client.job(job_id)


def _wait_by_events(client: Client, job_id: str, deadline: float, on_update: JobCallback | None) -> dict[str, Any]:
    record: dict[str, Any] | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(job_id, record)
        try:
            for record in client.job_events(job_id, timeout=remaining):
                _notify(on_update, record)
                if record["state"] in TERMINAL_STATES:
                    return _finish(record)
        except OperationTimeout:
            raise _timeout(job_id, record) from None

        # The stream closed before a final state (an API restart, a proxy
        # timeout): read the job, then follow the stream again.
        log.info("job %s: the event stream closed before the job ended; reconnecting", job_id)
        record = client.job(job_id)
        if record["state"] in TERMINAL_STATES:
            return _finish(record)
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def _finish(record: dict[str, Any]) -> dict[str, Any]:
    if record["state"] == "failed":
        raise JobFailed(record)
    return record


def _notify(on_update: JobCallback | None, record: dict[str, Any]) -> None:
    if on_update is not None:
        on_update(record)


def _timeout(job_id: str, record: dict[str, Any] | None) -> WaitTimeout:
    state = record["state"] if record else None
    return WaitTimeout(
        f"job {job_id} is still {state or 'not finished'} after the wait timeout; "
        f"follow it with csdp jobs {job_id} or wait longer with --timeout",
        job_id=job_id,
        state=state,
    )


def _amqp_subscriber(amqp_url: str | None) -> Subscriber:
    def subscribe(exchange: str, routing_key: str) -> Subscription:
        return AmqpSubscription(amqp_url or "", exchange, routing_key)

    return subscribe


class AmqpSubscription:
    """An exclusive, auto-deleted queue bound to one routing key of the results exchange."""

    def __init__(self, amqp_url: str, exchange: str, routing_key: str) -> None:
        import pika
        import pika.exceptions

        self._received: list[bytes] = []
        try:
            parameters = pika.URLParameters(amqp_url)
            parameters.socket_timeout = BROKER_CONNECT_SECONDS
            parameters.connection_attempts = 1
            self._connection = pika.BlockingConnection(parameters)
            channel = self._connection.channel()
            channel.exchange_declare(exchange, exchange_type="topic", durable=True)
            queue = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            channel.queue_bind(queue, exchange, routing_key=routing_key)
            channel.basic_consume(queue, self._on_message, auto_ack=True, exclusive=True)
        except (pika.exceptions.AMQPError, OSError, ValueError) as exc:
            raise ApiUnreachable(f"cannot subscribe to {exchange} with key {routing_key}: {exc!r}") from None
        log.debug("subscribed to %s with key %s", exchange, routing_key)

    def _on_message(self, channel: Any, method: Any, properties: Any, body: bytes) -> None:
        self._received.append(body)

    def next_record(self, timeout: float) -> dict[str, Any] | None:
        import pika.exceptions

        if not self._received:
            try:
                self._connection.process_data_events(time_limit=timeout)
            except pika.exceptions.AMQPError as exc:
                # The HTTP poll in the caller keeps the wait going without the broker.
                log.warning("lost the broker connection while waiting: %r", exc)
                time.sleep(timeout)
                return None
        if not self._received:
            return None
        body = self._received.pop(0)
        try:
            return json.loads(body)
        except ValueError:
            log.warning("ignored a pushed result that is not JSON: %r", body[:200])
            return None

    def close(self) -> None:
        import pika.exceptions

        try:
            self._connection.close()
        except (pika.exceptions.AMQPError, OSError):
            pass
