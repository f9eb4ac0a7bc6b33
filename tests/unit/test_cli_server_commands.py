"""``csdp admin user list|remove|rotate-token`` and ``csdp images build`` failures, with the server parts faked."""

from __future__ import annotations

import json

import pytest
from test_cli_service_commands import cli  # noqa: F401  (fixture)
from test_client_http import fake_api  # noqa: F401  (fixture)

from csdp.errors import ImageBuildError, NotFound
from csdp.workflows import users
from csdp.workflows.users import User

ALICE = User(name="alice", admin=True, max_containers=50, max_replicas_per_request=10)
BOB = User(name="bob", admin=False, max_containers=20, max_replicas_per_request=5)


def test_user_list_table(cli, monkeypatch):
    monkeypatch.setattr(users, "list_users", lambda: [ALICE, BOB])

    code, out, err = cli("admin", "user", "list")

    assert code == 0
    header, first, second = out.splitlines()
    assert header.split() == ["NAME", "ADMIN", "MAX", "CONTAINERS", "MAX", "REPLICAS"]
    assert first.split() == ["alice", "yes", "50", "10"]
    assert second.split() == ["bob", "no", "20", "5"]


def test_user_list_json(cli, monkeypatch):
    monkeypatch.setattr(users, "list_users", lambda: [BOB])

    code, out, err = cli("admin", "user", "list", "--json")

    assert code == 0
    assert json.loads(out) == [
        {"name": "bob", "admin": False, "max_containers": 20, "max_replicas_per_request": 5}
    ]


def test_user_remove_deletes_containers(cli, monkeypatch):
    """Removing a user also queues deleting its containers, so a new user of that name inherits none."""
    from types import SimpleNamespace

    from csdp import runtime
    from csdp.workflows import user_removal

    calls = []

    def remove_user_and_containers(name, runtime, submit_delete):
        calls.append(name)
        return SimpleNamespace(id="0123456789abcdef0123456789abcdef")

    monkeypatch.setattr(user_removal, "remove_user_and_containers", remove_user_and_containers)
    monkeypatch.setattr(runtime, "get_runtime", lambda: None)

    code, out, err = cli("admin", "user", "remove", "bob")

    assert code == 0
    assert calls == ["bob"]
    assert "removed user bob; job 0123456789abcdef0123456789abcdef deletes its containers" in out


def test_user_remove_unknown_exits_3(cli, monkeypatch):
    from csdp import runtime
    from csdp.workflows import user_removal

    def remove_user_and_containers(name, runtime, submit_delete):
        raise NotFound(f"user {name!r} does not exist; list users with csdp admin user list", field="name")

    monkeypatch.setattr(user_removal, "remove_user_and_containers", remove_user_and_containers)
    monkeypatch.setattr(runtime, "get_runtime", lambda: None)

    code, out, err = cli("admin", "user", "remove", "carol")

    assert code == 3
    assert "user 'carol' does not exist" in err


def test_user_rotate_token_prints_token_only(cli, monkeypatch):
    monkeypatch.setattr(users, "rotate_token", lambda name: f"new-token-of-{name}")

    code, out, err = cli("admin", "user", "rotate-token", "bob")

    assert code == 0
    assert out == "new-token-of-bob\n"
    assert "the old token no longer works" in err


def test_user_rotate_token_json(cli, monkeypatch):
    monkeypatch.setattr(users, "rotate_token", lambda name: "t0ken")

    code, out, err = cli("admin", "user", "rotate-token", "bob", "--json")

    assert code == 0
    assert json.loads(out) == {"name": "bob", "token": "t0ken"}


@pytest.mark.parametrize("argv", [["admin", "user", "add"], ["admin", "user", "rotate-token"], ["jobs"]])
def test_subcommand_usage_line_is_clean(cli, argv):
    code, out, err = cli(*argv, "--help")

    assert code == 0
    assert out.startswith(f"usage: csdp {' '.join(argv)} [-h]")


def test_images_build_failure_exits_1_without_ansi(cli, monkeypatch):
    from csdp.runtime import images

    def fail(*args, **kwargs):
        raise ImageBuildError("building image csdp/firefox failed: \x1b[31mE: Unable to locate package\x1b[0m")

    monkeypatch.setattr(images, "ensure_base_image", fail)

    code, out, err = cli("images", "build", "firefox")

    assert code == 1
    assert "\x1b" not in err
    assert "building image csdp/firefox failed: E: Unable to locate package" in err
