"""Tokens of a container's owner, written into containers of services with ``inject_owner_token``.

``csdp:container-token:<sha256 of token>`` contains ``{"user", "container"}``
and expires with the container's lifetime. ``csdp:container-token-of:<container
name>`` contains the digest of the container's current token, so a create step
that runs again replaces the earlier token instead of leaving it valid. A token
authenticates its owner only while the container exists, and never with admin
rights. The token itself is stored nowhere but in the container.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from typing import Callable

import redis

from csdp.errors import NotFound
from csdp.workflows import users
from csdp.workflows.users import User, hash_token

log = logging.getLogger(__name__)

TOKEN_KEY = "csdp:container-token:{digest}"
CONTAINER_KEY = "csdp:container-token-of:{container}"
TOKEN_BYTES = 32


def _client(client: redis.Redis | None) -> redis.Redis:
    return client if client is not None else users._default_client()


def issue_token(owner: str, container: str, ttl_seconds: int, *, client: redis.Redis | None = None) -> str:
    """Create a token of ``owner`` bound to the container named ``container`` and return it.

    The token expires after ``ttl_seconds``; an earlier token of the same container is revoked.
    """
    client = _client(client)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    digest = hash_token(token)
    ttl_seconds = max(int(ttl_seconds), 1)
    previous = client.set(CONTAINER_KEY.format(container=container), digest, ex=ttl_seconds, get=True)
    pipe = client.pipeline(transaction=True)
    pipe.set(TOKEN_KEY.format(digest=digest), json.dumps({"user": owner, "container": container}), ex=ttl_seconds)
    if previous:
        pipe.delete(TOKEN_KEY.format(digest=previous))
    pipe.execute()
    log.info("issued a container token of %s for container %s, valid for %d s", owner, container, ttl_seconds)
    return token


def container_exists(name: str) -> bool:
    """Return whether the engine has a container called ``name``, running or not."""
    from csdp.runtime import get_runtime

    try:
        get_runtime().info(name)
    except NotFound:
        return False
    return True


def authenticate(
    token: str,
    *,
    client: redis.Redis | None = None,
    exists: Callable[[str], bool] = container_exists,
) -> User | None:
    """Return the user of a user token or of a container token, or None for an unknown or revoked one.

    A container token gives the owner's account without admin rights, and
    stops working as soon as its container is gone.
    """
    user = users.authenticate(token, client=client)
    if user is not None or not token:
        return user
    client = _client(client)
    raw = client.get(TOKEN_KEY.format(digest=hash_token(token)))
    if raw is None:
        return None
    scope = json.loads(raw)
    try:
        owner = users.get_user(scope["user"], client=client)
    except NotFound:
        return None
    if not exists(scope["container"]):
        client.delete(TOKEN_KEY.format(digest=hash_token(token)))
        log.info("revoked the container token of %s because container %s is gone", scope["user"], scope["container"])
        return None
    return dataclasses.replace(owner, admin=False)
