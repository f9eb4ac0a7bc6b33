"""The AMQP subscription of the client against the real RabbitMQ."""

from __future__ import annotations

import json
import uuid

import pika
import pytest

from csdp.client.errors import ApiUnreachable
from csdp.client.waiting import AmqpSubscription

pytestmark = pytest.mark.integration

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
def exchange():
    name = f"csdp.results.test-{uuid.uuid4().hex[:8]}"
    yield name
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    connection.channel().exchange_delete(name)
    connection.close()


def _publish(exchange: str, routing_key: str, body: dict) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    channel.basic_publish(exchange, routing_key, json.dumps(body).encode())
    connection.close()


def test_subscription_receives_own_key_only(exchange):
    subscription = AmqpSubscription(AMQP_URL, exchange, "test-alice.job1")
    try:
        _publish(exchange, "test-bob.job1", {"id": "job1", "owner": "test-bob"})
        _publish(exchange, "test-alice.job1", {"id": "job1", "owner": "test-alice", "state": "succeeded"})

        received = subscription.next_record(5)

        assert received == {"id": "job1", "owner": "test-alice", "state": "succeeded"}
        assert subscription.next_record(0.2) is None
    finally:
        subscription.close()


def test_subscription_to_closed_port_raises_unreachable(exchange):
    with pytest.raises(ApiUnreachable):
        AmqpSubscription("amqp://guest:guest@127.0.0.1:9/%2F", exchange, "a.b")
