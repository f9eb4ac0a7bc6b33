"""Container names: valid for Docker, deterministic, distinct for look-alike owners."""

from __future__ import annotations

import re

import pytest

from csdp.runtime.names import container_name, owner_hash, short_id, slug

DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def test_name_form():
    name = container_name("syslog", "alice", "0123456789abcdef", 2)

    assert name == f"csdp-syslog-alice-{owner_hash('alice')}-0123456789ab-2"


def test_name_deterministic():
    assert container_name("syslog", "a.b", "job1", 0) == container_name("syslog", "a.b", "job1", 0)


def test_name_owner_punctuation_distinct():
    names = {container_name("syslog", owner, "job1", 0) for owner in ("a.b", "a_b", "a-b", "A.B", "a b")}

    assert len(names) == 5


def test_name_replica_distinct():
    assert container_name("syslog", "alice", "job1", 0) != container_name("syslog", "alice", "job1", 1)


@pytest.mark.parametrize(
    "owner",
    ["alice", "a.b", "_leading", "-dash", "ÄÖÜ unicode", "x" * 300, "", "../../etc", "name with spaces", "日本"],
)
def test_name_valid_for_docker(owner):
    name = container_name("my_service.v2", owner, "Job/ID:42", 0)

    assert DOCKER_NAME.match(name), name
    assert len(name) < 128


def test_name_negative_replica():
    with pytest.raises(ValueError, match="replica -1"):
        container_name("syslog", "alice", "job1", -1)


def test_slug_empty_and_truncated():
    assert slug("...", 10) == "x"
    assert slug("Hello, World!", 20) == "hello-world"
    assert slug("abcdefghij-klm", 11) == "abcdefghij"


def test_short_id_length():
    assert short_id("0123456789abcdef0123") == "0123456789ab"
