"""Client config: environment, config file, ``csdp login`` output and errors."""

from __future__ import annotations

import stat

import pytest

from csdp.client.config import config_path, load_config, write_config
from csdp.errors import InvalidInput, Unauthorized

ENV_KEYS = ("CSDP_URL", "CSDP_TOKEN", "CSDP_AMQP_URL", "CSDP_TIMEOUT")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_config_from_environment(monkeypatch):
    monkeypatch.setenv("CSDP_URL", "http://api.example:8000/")
    monkeypatch.setenv("CSDP_TOKEN", "t1")
    monkeypatch.setenv("CSDP_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    monkeypatch.setenv("CSDP_TIMEOUT", "7.5")

    config = load_config()

    assert config.url == "http://api.example:8000"
    assert config.token == "t1"
    assert config.amqp_url == "amqp://guest:guest@127.0.0.1:5672/"
    assert config.timeout == 7.5


def test_config_file_round_trip(tmp_path):
    path = write_config("http://api.example:8000", 'to"ken\\x', amqp_url="amqp://a@b/")

    assert path == tmp_path / "config" / "csdp" / "config.toml"
    config = load_config()
    assert config.url == "http://api.example:8000"
    assert config.token == 'to"ken\\x'
    assert config.amqp_url == "amqp://a@b/"


def test_config_file_mode_is_0600():
    path = write_config("http://api.example:8000", "t")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_environment_wins_over_file(monkeypatch):
    write_config("http://file.example:8000", "file-token")
    monkeypatch.setenv("CSDP_TOKEN", "env-token")

    config = load_config()

    assert config.url == "http://file.example:8000"
    assert config.token == "env-token"


def test_missing_token_message(monkeypatch):
    monkeypatch.setenv("CSDP_URL", "http://api.example:8000")
    with pytest.raises(Unauthorized) as caught:
        load_config()
    assert caught.value.message == "no API token: set CSDP_TOKEN or run csdp login"


def test_missing_url_message():
    with pytest.raises(InvalidInput) as caught:
        load_config()
    assert "set CSDP_URL or run csdp login" in caught.value.message


def test_bad_timeout_names_value(monkeypatch):
    monkeypatch.setenv("CSDP_URL", "http://api.example:8000")
    monkeypatch.setenv("CSDP_TOKEN", "t")
    monkeypatch.setenv("CSDP_TIMEOUT", "soon")
    with pytest.raises(InvalidInput) as caught:
        load_config()
    assert "'soon'" in caught.value.message


def test_invalid_config_file_names_path():
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("url = ")
    with pytest.raises(InvalidInput) as caught:
        load_config()
    assert str(path) in caught.value.message
