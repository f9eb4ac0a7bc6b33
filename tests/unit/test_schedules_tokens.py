"""Unit tests of the owner tokens and client files written into containers."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta, timezone

import fakeredis
import pytest

from csdp.catalog import load_catalog
from csdp.runtime.base import ContainerSpec
from csdp.workflows import container_tokens, injection, users


@pytest.fixture
def redis_client(monkeypatch):
    client = fakeredis.FakeRedis(decode_responses=True)
    monkeypatch.setattr(users, "_default_client", lambda: client)
    return client


def test_token_authenticates_owner(redis_client):
    users.add_user("carol", admin=True)
    token = container_tokens.issue_token("carol", "csdp-test_client-carol-1", 600)
    user = container_tokens.authenticate(token, exists=lambda name: True)
    assert user.name == "carol"
    assert user.admin is False


def test_token_gone_container(redis_client):
    users.add_user("carol")
    token = container_tokens.issue_token("carol", "csdp-test_client-carol-1", 600)
    assert container_tokens.authenticate(token, exists=lambda name: False) is None
    assert container_tokens.authenticate(token, exists=lambda name: True) is None


def test_token_reissue_revokes(redis_client):
    users.add_user("carol")
    first = container_tokens.issue_token("carol", "csdp-test_client-carol-1", 600)
    second = container_tokens.issue_token("carol", "csdp-test_client-carol-1", 600)
    assert container_tokens.authenticate(first, exists=lambda name: True) is None
    assert container_tokens.authenticate(second, exists=lambda name: True).name == "carol"


def test_token_expires(redis_client):
    users.add_user("carol")
    token = container_tokens.issue_token("carol", "csdp-test_client-carol-1", 600)
    digest = users.hash_token(token)
    assert 590 <= redis_client.ttl(container_tokens.TOKEN_KEY.format(digest=digest)) <= 600


def test_token_removed_user(redis_client):
    users.add_user("carol")
    token = container_tokens.issue_token("carol", "csdp-test_client-carol-1", 600)
    users.remove_user("carol")
    assert container_tokens.authenticate(token, exists=lambda name: True) is None


def test_injection_files(redis_client):
    users.add_user("dave")
    manifest = load_catalog().get("test_client").manifest
    spec = ContainerSpec(
        service="test_client", owner="dave", job_id="0" * 32, replica=0, image="csdp/test_client",
        expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    injected = injection.add_injections(manifest, spec)

    config = tomllib.loads(injected.files["/run/csdp/config/csdp/config.toml"].decode())
    assert injected.environment == {"XDG_CONFIG_HOME": "/run/csdp/config"}
    assert config["token"] not in str(injected.environment)
    assert container_tokens.authenticate(config["token"], exists=lambda name: True).name == "dave"
    assert "/opt/csdp/lib/csdp/client/client.py" in injected.files
    assert "/opt/csdp/lib/csdp/wire.py" in injected.files
    assert not any("/workflows/" in path or "/api/" in path for path in injected.files)


def test_injection_not_requested(redis_client):
    manifest = load_catalog().get("webhook").manifest
    spec = ContainerSpec(service="webhook", owner="dave", job_id="0" * 32, replica=0, image="csdp/webhook")
    assert injection.add_injections(manifest, spec) is spec
