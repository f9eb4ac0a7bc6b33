"""Image refresh decisions with a fake engine: when to rebuild, which tags the old and new images get."""

from __future__ import annotations

import itertools

import pytest
from docker.errors import ImageNotFound
from test_cli_service_commands import cli  # noqa: F401  (fixture)
from test_client_http import fake_api  # noqa: F401  (fixture)

from csdp.catalog import Catalog, Manifest, Service
from csdp.errors import ImageBuildError
from csdp.runtime import image_refresh
from csdp.runtime.image_refresh import (
    FAILED,
    LABEL_PACKAGE_VERSION,
    REBUILT,
    UP_TO_DATE,
    RefreshResult,
    compare_versions,
    parse_candidate,
    refresh_images,
    refresh_service_image,
    version_tag,
)
from csdp.settings import Settings
from csdp.workflows.app import make_app

POLICY = "chromium:\n  Installed: (none)\n  Candidate: {}\n  Version table:\n"


def _full(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class FakeImage:
    def __init__(self, engine: FakeEngine, image_id: str, labels: dict[str, str], version: str) -> None:
        self.engine, self.id, self.labels, self.version = engine, image_id, labels, version

    def tag(self, repository: str, tag: str) -> None:
        self.engine.events.append(("tag", self.id, f"{repository}:{tag}"))
        self.engine.tags[f"{repository}:{tag}"] = self


class FakeContainer:
    id = "c0ffee000000"

    def __init__(self, engine: FakeEngine, image: str, entrypoint: list[str]) -> None:
        self.engine, self.image, self.entrypoint = engine, image, entrypoint

    def start(self) -> None:
        pass

    def wait(self) -> dict:
        return {"StatusCode": 0}

    def logs(self, stdout: bool = True, stderr: bool = True) -> bytes:
        if self.entrypoint[0] == "dpkg-query":
            self.engine.events.append(("dpkg-query", self.image))
            return f"{self.engine.images.get(self.image).version}\n".encode()
        self.engine.events.append(("apt-cache", self.image))
        return POLICY.format(self.engine.candidate).encode()

    def remove(self, force: bool = False) -> None:
        self.engine.events.append(("remove", self.image))


class FakeImages:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def get(self, name: str) -> FakeImage:
        for image in self.engine.tags.values():
            if image.id == name:
                return image
        try:
            return self.engine.tags[_full(name)]
        except KeyError:
            raise ImageNotFound(name) from None


class FakeContainers:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def create(self, image: str, entrypoint: list[str], **kwargs) -> FakeContainer:
        return FakeContainer(self.engine, image, entrypoint)


class FakeApi:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def build(self, fileobj, tag: str, labels: dict[str, str], **kwargs):
        parent = self.engine.images.get(fileobj.read().decode().split()[1])
        image = self.engine.new_image({**parent.labels, **labels}, parent.version)
        self.engine.events.append(("stamp", image.id, labels[LABEL_PACKAGE_VERSION]))
        self.engine.tags[_full(tag)] = image
        return iter([{"stream": "Successfully built"}])


class FakeEngine:
    """Just enough of DockerClient: images by tag, check containers, and the stamp build."""

    def __init__(self, candidate: str, installed: str, labels: dict[str, str] | None = None) -> None:
        self.candidate = candidate
        self.events: list[tuple] = []
        self.tags: dict[str, FakeImage] = {}
        self.ids = itertools.count(1)
        self.images = FakeImages(self)
        self.containers = FakeContainers(self)
        self.api = FakeApi(self)
        self.tags["csdp/browser:latest"] = self.new_image(labels or {}, installed)

    def new_image(self, labels: dict[str, str], version: str) -> FakeImage:
        return FakeImage(self, f"sha256:{next(self.ids)}", labels, version)

    def close(self) -> None:
        pass


@pytest.fixture
def service(tmp_path) -> Service:
    manifest = Manifest(name="browser", summary="browser", version_package="chromium")
    return Service(manifest=manifest, folder=tmp_path)


@pytest.fixture
def fake_build(monkeypatch):
    """Replace the real build: it tags a new image holding the candidate version, built without the cache."""

    def build_one(client, service, settings, base_id, force, progress):
        client.events.append(("build", force))
        client.tags["csdp/browser:latest"] = client.new_image({}, client.candidate)

    monkeypatch.setattr(image_refresh, "ensure_base_image", lambda settings, progress: "sha256:base")
    monkeypatch.setattr(image_refresh, "_build_one", build_one)


def test_refresh_newer_tags_old_then_rebuilds(service, fake_build):
    engine = FakeEngine(candidate="131.0-1~deb12u1", installed="130.0-1~deb12u1")
    old = engine.tags["csdp/browser:latest"]

    result = refresh_service_image(service, Settings(), client=engine)

    assert result.action == REBUILT
    assert (result.installed, result.candidate) == ("130.0-1~deb12u1", "131.0-1~deb12u1")
    assert result.previous_tag == "csdp/browser:130.0-1_deb12u1"
    assert result.new_tag == "csdp/browser:131.0-1_deb12u1"
    keep = engine.events.index(("tag", old.id, "csdp/browser:130.0-1_deb12u1"))
    assert keep < engine.events.index(("build", True))
    assert engine.tags["csdp/browser:130.0-1_deb12u1"] is old
    new = engine.tags["csdp/browser:latest"]
    assert new is engine.tags["csdp/browser:131.0-1_deb12u1"]
    assert new.labels[LABEL_PACKAGE_VERSION] == "131.0-1~deb12u1"
    assert [event for event in engine.events if event[0] == "remove"] == [
        ("remove", old.id), ("remove", "csdp/debian:bookworm"), ("remove", "sha256:2")
    ]


def test_refresh_same_version_no_build(service, fake_build):
    engine = FakeEngine(candidate="130.0-1", installed="130.0-1")

    result = refresh_service_image(service, Settings(), client=engine)

    assert result.action == UP_TO_DATE
    assert not [event for event in engine.events if event[0] in ("build", "stamp")]
    assert engine.tags["csdp/browser:130.0-1"] is engine.tags["csdp/browser:latest"]


def test_refresh_older_candidate_no_build(service, fake_build):
    engine = FakeEngine(candidate="1:1.0-1", installed="2:0.9-1")

    assert refresh_service_image(service, Settings(), client=engine).action == UP_TO_DATE
    assert ("build", True) not in engine.events


def test_refresh_label_gives_installed(service, fake_build):
    engine = FakeEngine(candidate="2.0-1", installed="2.0-1", labels={LABEL_PACKAGE_VERSION: "1.0-1"})

    result = refresh_service_image(service, Settings(), client=engine)

    assert result.installed == "1.0-1"
    assert result.action == REBUILT
    assert ("dpkg-query", "sha256:1") not in engine.events


def test_refresh_missing_image(service, fake_build):
    engine = FakeEngine(candidate="2.0-1", installed="2.0-1")
    engine.tags.clear()

    result = refresh_service_image(service, Settings(), client=engine)

    assert result.action == "not built"
    assert engine.events == []


def test_refresh_failure_does_not_stop_others(monkeypatch, tmp_path):
    services = {
        name: Service(Manifest(name=name, summary=name, version_package="less"), tmp_path / name)
        for name in ("alpha", "beta", "gamma")
    }
    services["plain"] = Service(Manifest(name="plain", summary="plain"), tmp_path / "plain")

    def refresh(service, settings, progress):
        if service.name == "beta":
            raise ImageBuildError("building image csdp/beta failed at step 2/5")
        return RefreshResult(service.name, f"csdp/{service.name}", "less", "1", "1", UP_TO_DATE)

    monkeypatch.setattr(image_refresh, "refresh_service_image", refresh)

    results = refresh_images(Catalog(services), Settings())

    assert [(result.service, result.action) for result in results] == [
        ("alpha", UP_TO_DATE), ("beta", FAILED), ("gamma", UP_TO_DATE)
    ]
    assert results[1].error == "building image csdp/beta failed at step 2/5"


def test_refresh_task_reports_failure(monkeypatch):
    from csdp.workflows import image_refresh_task

    failed = RefreshResult("beta", "csdp/beta", "less", None, None, FAILED, error="engine gone")
    monkeypatch.setattr(image_refresh_task, "load_catalog", lambda paths: Catalog({}))
    monkeypatch.setattr(image_refresh_task, "refresh_images", lambda catalog, settings: [failed])

    [summary] = image_refresh_task.refresh_version_images.run()

    assert summary["service"] == "beta"
    assert summary["action"] == FAILED
    assert summary["error"] == "engine gone"


def test_refresh_beat_schedule():
    conf = make_app(Settings(queue_prefix="t1-")).conf
    entry = conf.beat_schedule["image-refresh"]
    assert entry["task"] == "csdp.workflows.image_refresh_task.refresh_version_images"
    assert entry["schedule"] == 86400.0
    assert entry["options"]["queue"] == "t1-scheduled"


def test_refresh_cli_prints_versions(cli, monkeypatch):
    rebuilt = RefreshResult(
        "chrome", "csdp/chrome", "chromium", "130.0-1", "131.0-1", REBUILT, "csdp/chrome:130.0-1", "csdp/chrome:131.0-1"
    )
    monkeypatch.setattr(image_refresh, "refresh_images", lambda catalog, settings, names, progress: [rebuilt])

    code, out, err = cli("images", "refresh", "chrome")

    assert code == 0
    assert out.strip() == (
        "chrome: chromium installed 130.0-1, candidate 131.0-1: rebuilt, kept csdp/chrome:130.0-1, built csdp/chrome:131.0-1"
    )


@pytest.mark.parametrize(
    "left, right, sign",
    [
        ("1.0~rc1", "1.0", -1),
        ("1:0.1", "2.0", 1),
        ("131.0.6778.85-1~deb12u1", "131.0.6778.85-1", -1),
        ("131.0.6778.85-1~deb12u1", "130.0.6723.116-1~deb12u1", 1),
        ("115.12.0esr-1~deb12u1", "115.9.1esr-1~deb12u1", 1),
        ("1.0a", "1.0", 1),
        ("1.0-1", "1.0-1", 0),
        ("2.10", "2.9", 1),
        ("1.0", "1.0-0", 0),
        ("1.0+b1", "1.0", 1),
    ],
)
def test_compare_versions(left, right, sign):
    result = compare_versions(left, right)
    assert (result > 0) - (result < 0) == sign


def test_version_tag():
    assert version_tag("1:131.0.6778.85-1~deb12u1+b2") == "1_131.0.6778.85-1_deb12u1_b2"


def test_parse_candidate_none():
    with pytest.raises(ImageBuildError, match="no candidate version of package nosuch"):
        parse_candidate(POLICY.format("(none)"), "nosuch")
