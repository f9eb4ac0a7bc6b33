"""Engine bootstrap decisions, with the engine, apt and dockerd replaced by fakes."""

from __future__ import annotations

import json

import pytest

from csdp import engine
from csdp.errors import EngineUnavailable
from csdp.settings import Settings


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake host: files under tmp_path, no engine responding, root, dockerd installed."""
    debian_version = tmp_path / "debian_version"
    debian_version.write_text("12.8\n")
    monkeypatch.setattr(engine, "DEBIAN_VERSION_FILE", debian_version)
    monkeypatch.setattr(engine, "DAEMON_JSON", tmp_path / "docker" / "daemon.json")
    monkeypatch.setattr(engine, "DOCKERD_LOG", tmp_path / "dockerd.log")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 0)
    monkeypatch.setattr(engine.shutil, "which", lambda name: f"/usr/sbin/{name}")

    def no_engine(settings):
        raise EngineUnavailable("connection refused")

    monkeypatch.setattr(engine, "ping_engine", no_engine)
    return tmp_path


class FakeProcess:
    pid = 4242
    returncode = None

    def poll(self):
        return self.returncode


def test_merge_daemon_settings_keeps_other_keys(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"log-driver": "local", "ip6tables": False, "registry-mirrors": ["http://m"]}))

    assert engine.merge_daemon_settings(path) is True

    written = json.loads(path.read_text())
    assert written["log-driver"] == "local"
    assert written["registry-mirrors"] == ["http://m"]
    assert written["ip6tables"] is True
    assert written["experimental"] is True


def test_merge_daemon_settings_creates_file(tmp_path):
    path = tmp_path / "docker" / "daemon.json"

    assert engine.merge_daemon_settings(path) is True

    assert json.loads(path.read_text()) == {"experimental": True, "ip6tables": True}


def test_merge_daemon_settings_unchanged(tmp_path):
    path = tmp_path / "daemon.json"
    original = '{"experimental": true, "ip6tables": true, "debug": true}'
    path.write_text(original)

    assert engine.merge_daemon_settings(path) is False
    assert path.read_text() == original


def test_merge_daemon_settings_invalid_json(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{not json")

    with pytest.raises(EngineUnavailable) as caught:
        engine.merge_daemon_settings(path)

    assert str(path) in caught.value.message
    assert "fix or remove it" in caught.value.message
    assert path.read_text() == "{not json"


def test_merge_daemon_settings_not_object(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("[1, 2]")

    with pytest.raises(EngineUnavailable, match="JSON object"):
        engine.merge_daemon_settings(path)


def test_ensure_engine_running(monkeypatch, host):
    monkeypatch.setattr(engine, "ping_engine", lambda settings: "20.10.24")
    started = []
    monkeypatch.setattr(engine, "_start_dockerd", lambda progress: started.append(True))

    assert engine.ensure_engine(settings=Settings()) == "20.10.24"
    assert started == []


def test_ensure_engine_running_warns_missing_ip6tables(monkeypatch, host):
    monkeypatch.setattr(engine, "ping_engine", lambda settings: "20.10.24")
    engine.DAEMON_JSON.parent.mkdir(parents=True)
    engine.DAEMON_JSON.write_text('{"experimental": true}')
    lines = []

    engine.ensure_engine(lines.append, settings=Settings())

    assert any("lacks ip6tables" in line for line in lines)


def test_ensure_engine_not_debian(host):
    engine.DEBIAN_VERSION_FILE.unlink()

    with pytest.raises(EngineUnavailable) as caught:
        engine.ensure_engine(settings=Settings())

    assert "not Debian" in caught.value.message
    assert "install Docker Engine" in caught.value.message
    assert not engine.DAEMON_JSON.exists()


def test_ensure_engine_not_root(monkeypatch, host):
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)

    with pytest.raises(EngineUnavailable) as caught:
        engine.ensure_engine(settings=Settings())

    assert "needs root" in caught.value.message
    assert not engine.DAEMON_JSON.exists()


def test_ensure_engine_remote_host(host):
    with pytest.raises(EngineUnavailable) as caught:
        engine.ensure_engine(settings=Settings(docker_host="tcp://10.0.0.5:2375"))

    assert "tcp://10.0.0.5:2375" in caught.value.message
    assert not engine.DAEMON_JSON.exists()


def test_ensure_engine_starts_dockerd(monkeypatch, host):
    answers = iter([EngineUnavailable("refused"), EngineUnavailable("refused"), "20.10.24"])

    def ping(settings):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(engine, "ping_engine", ping)
    monkeypatch.setattr(engine, "_start_dockerd", lambda progress: FakeProcess())
    monkeypatch.setattr(engine.time, "sleep", lambda seconds: None)
    installed = []
    monkeypatch.setattr(engine, "_install_docker", lambda progress: installed.append(True))

    assert engine.ensure_engine(settings=Settings()) == "20.10.24"
    assert installed == []
    assert json.loads(engine.DAEMON_JSON.read_text()) == {"experimental": True, "ip6tables": True}


def test_ensure_engine_installs_missing_dockerd(monkeypatch, host):
    monkeypatch.setattr(engine.shutil, "which", lambda name: None)
    installed = []
    monkeypatch.setattr(engine, "_install_docker", lambda progress: installed.append(True))
    monkeypatch.setattr(engine, "_start_dockerd", lambda progress: FakeProcess())
    monkeypatch.setattr(engine, "_wait_for_engine", lambda settings, process, progress: "20.10.24")

    assert engine.ensure_engine(settings=Settings()) == "20.10.24"
    assert installed == [True]


def test_ensure_engine_dockerd_exits(monkeypatch, host):
    process = FakeProcess()
    process.returncode = 1
    monkeypatch.setattr(engine, "_start_dockerd", lambda progress: process)

    with pytest.raises(EngineUnavailable) as caught:
        engine.ensure_engine(settings=Settings())

    assert "exited with code 1" in caught.value.message
    assert str(engine.DOCKERD_LOG) in caught.value.message


def test_ensure_engine_start_timeout(monkeypatch, host):
    monkeypatch.setattr(engine, "_start_dockerd", lambda progress: FakeProcess())
    monkeypatch.setattr(engine, "START_TIMEOUT_SECONDS", 0.05)
    monkeypatch.setattr(engine.time, "sleep", lambda seconds: None)

    with pytest.raises(EngineUnavailable) as caught:
        engine.ensure_engine(settings=Settings())

    assert "did not respond within" in caught.value.message
    assert "connection refused" in caught.value.message
