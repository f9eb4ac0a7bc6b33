"""Container names and the short ids used in log lines."""

from __future__ import annotations

import hashlib
import re

NAME_PREFIX = "csdp"
OWNER_SLUG_LENGTH = 20
OWNER_HASH_LENGTH = 8
JOB_PREFIX_LENGTH = 12
SHORT_ID_LENGTH = 12

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, max_length: int) -> str:
    """Return ``text`` lowercased with each run of other characters turned into one dash.

    An empty result becomes ``x`` so that every part of a name has a character.
    """
    value = _NOT_SLUG.sub("-", text.lower()).strip("-")[:max_length].strip("-")
    return value or "x"


def owner_hash(owner: str) -> str:
    """Return a short SHA-256 of the raw owner name, which distinguishes owners whose slugs are equal."""
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:OWNER_HASH_LENGTH]


def container_name(service: str, owner: str, job_id: str, replica: int) -> str:
    """Return the Docker name of one replica. The same inputs always give the same name.

    The form is ``csdp-<service>-<owner slug>-<owner hash>-<job id prefix>-<replica>``,
    which matches Docker's ``[a-zA-Z0-9][a-zA-Z0-9_.-]*``.
    """
    if replica < 0:
        raise ValueError(f"replica {replica} is negative: replicas are numbered from 0")
    parts = [
        NAME_PREFIX,
        slug(service, 30),
        slug(owner, OWNER_SLUG_LENGTH),
        owner_hash(owner),
        slug(job_id, JOB_PREFIX_LENGTH),
        str(replica),
    ]
    return "-".join(parts)


def short_id(container_id: str) -> str:
    """Return the id form used in every log line: the first 12 characters, as Docker prints them."""
    return container_id[:SHORT_ID_LENGTH]
