"""Users and their bearer tokens, stored in Redis.

``csdp:user:<name>`` contains the account as JSON and ``csdp:token:<sha256>`` maps
the hash of a token to the user name. Tokens themselves are never stored: the
caller sees a token once, when the user is added or the token is rotated.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

import redis

from csdp.errors import Conflict, InvalidInput, NotFound
from csdp.settings import get_settings
from csdp.wire import UserOut

log = logging.getLogger(__name__)

USER_KEY = "csdp:user:{name}"
TOKEN_KEY = "csdp:token:{digest}"
NAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,64}")
TOKEN_BYTES = 32


@dataclass(frozen=True)
class User:
    """An account with its effective limits (its own, or the server defaults)."""

    name: str
    admin: bool
    max_containers: int
    max_replicas_per_request: int

    def to_wire(self) -> UserOut:
        return UserOut(
            name=self.name,
            admin=self.admin,
            max_containers=self.max_containers,
            max_replicas_per_request=self.max_replicas_per_request,
        )


@lru_cache(maxsize=1)
def _default_client() -> redis.Redis:
    return redis.Redis.from_url(get_settings().redis_url, decode_responses=True)


def _client(client: redis.Redis | None) -> redis.Redis:
    return client if client is not None else _default_client()


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid user name, or raise InvalidInput."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"user name {name!r} is invalid: use 1 to 64 letters, digits, '.', '_', '-' or '@'",
            field="name",
        )
    return name


def _to_user(raw: dict) -> User:
    settings = get_settings()
    max_containers = raw.get("max_containers")
    max_replicas = raw.get("max_replicas_per_request")
    return User(
        name=raw["name"],
        admin=bool(raw.get("admin", False)),
        max_containers=max_containers if max_containers is not None else settings.max_containers_per_user,
        max_replicas_per_request=max_replicas if max_replicas is not None else settings.max_replicas_per_request,
    )


def _read_raw(name: str, client: redis.Redis) -> dict | None:
    data = client.get(USER_KEY.format(name=name))
    return json.loads(data) if data else None


def _check_limit(value: int | None, field: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidInput(f"{field} is {value!r}; give an integer of at least 1, or none for the server default", field=field)
    return value


def add_user(
    name: str,
    admin: bool = False,
    *,
    max_containers: int | None = None,
    max_replicas_per_request: int | None = None,
    client: redis.Redis | None = None,
) -> tuple[UserOut, str]:
    """Create a user and return it with its new token; a taken name raises Conflict.

    Limits left as None follow the server settings, also when those change later.
    """
    check_name(name)
    _check_limit(max_containers, "max_containers")
    _check_limit(max_replicas_per_request, "max_replicas_per_request")
    client = _client(client)

    token = secrets.token_urlsafe(TOKEN_BYTES)
    digest = hash_token(token)
    raw = {
        "name": name,
        "admin": bool(admin),
        "token_hash": digest,
        "max_containers": max_containers,
        "max_replicas_per_request": max_replicas_per_request,
    }
    # SET NX makes the duplicate check and the write one atomic step.
    if not client.set(USER_KEY.format(name=name), json.dumps(raw), nx=True):
        raise Conflict(
            f"user {name!r} already exists; choose another name, or give it a new token with "
            f"'csdp admin user rotate-token {name}'",
            field="name",
        )
    client.set(TOKEN_KEY.format(digest=digest), name)
    log.info("added user %s (admin=%s)", name, bool(admin))
    return _to_user(raw).to_wire(), token


def authenticate(token: str, *, client: redis.Redis | None = None) -> User | None:
    """Return the user owning ``token``, or None for an unknown or revoked token."""
    if not token:
        return None
    client = _client(client)
    digest = hash_token(token)
    name = client.get(TOKEN_KEY.format(digest=digest))
    if name is None:
        return None
    raw = _read_raw(name, client)
    # A token key left behind by an interrupted rotation must not authenticate.
    if raw is None or not secrets.compare_digest(raw.get("token_hash", ""), digest):
        return None
    return _to_user(raw)


def get_user(name: str, *, client: redis.Redis | None = None) -> User:
    """Return the user called ``name`` or raise NotFound."""
    raw = _read_raw(name, _client(client))
    if raw is None:
        raise NotFound(f"user {name!r} does not exist; list users with 'csdp admin user list'", field="name")
    return _to_user(raw)


def list_users(*, client: redis.Redis | None = None) -> list[User]:
    """Return every user, sorted by name."""
    client = _client(client)
    users = []
    for key in client.scan_iter(match=USER_KEY.format(name="*"), count=500):
        data = client.get(key)
        if data:
            users.append(_to_user(json.loads(data)))
    return sorted(users, key=lambda user: user.name)


def remove_user(name: str, *, client: redis.Redis | None = None) -> None:
    """Delete the user and its token; its containers and jobs are left to expire."""
    client = _client(client)
    raw = _read_raw(name, client)
    if raw is None:
        raise NotFound(f"user {name!r} does not exist; list users with 'csdp admin user list'", field="name")
    client.delete(TOKEN_KEY.format(digest=raw["token_hash"]), USER_KEY.format(name=name))
    log.info("removed user %s", name)


def rotate_token(name: str, *, client: redis.Redis | None = None) -> str:
    """Replace the user's token with a new one and return it; the old token stops working at once."""
    client = _client(client)
    raw = _read_raw(name, client)
    if raw is None:
        raise NotFound(f"user {name!r} does not exist; list users with 'csdp admin user list'", field="name")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    old_digest, raw["token_hash"] = raw["token_hash"], hash_token(token)

    pipe = client.pipeline(transaction=True)
    pipe.set(USER_KEY.format(name=name), json.dumps(raw))
    pipe.delete(TOKEN_KEY.format(digest=old_digest))
    pipe.set(TOKEN_KEY.format(digest=raw["token_hash"]), name)
    pipe.execute()
    log.info("rotated the token of user %s", name)
    return token


def set_limits(
    name: str,
    *,
    max_containers: int | None = None,
    max_replicas_per_request: int | None = None,
    client: redis.Redis | None = None,
) -> User:
    """Set the user's own limits; None returns that limit to the server default."""
    _check_limit(max_containers, "max_containers")
    _check_limit(max_replicas_per_request, "max_replicas_per_request")
    client = _client(client)
    raw = _read_raw(name, client)
    if raw is None:
        raise NotFound(f"user {name!r} does not exist; list users with 'csdp admin user list'", field="name")
    raw["max_containers"] = max_containers
    raw["max_replicas_per_request"] = max_replicas_per_request
    client.set(USER_KEY.format(name=name), json.dumps(raw))
    log.info("set the limits of user %s: max_containers=%s max_replicas_per_request=%s", name, max_containers, max_replicas_per_request)
    return _to_user(raw)
