"""Platform features for services that act on the owner's containers: owner_address parameters and owner inventories."""

from __future__ import annotations

import io
import json
import tarfile

import fakeredis
import pytest
from test_workflows_fakes import FakeRuntime, write_catalog

from csdp.catalog import Catalog, Service, check_parameters, load_manifest
from csdp.catalog.manifest import Manifest, Parameter
from csdp.errors import InvalidInput
from csdp.runtime.base import ExecResult
from csdp.workflows.inventory import inventory_entries, sync_owner_inventory
from csdp.workflows.owner_addresses import resolve_owner_addresses
from csdp.workflows.tasks import render_command

TARGETS = Parameter(name="targets", type="owner_address", help="Containers to reach.", max_items=3)

NAMESERVER = """\
name: nameserver
summary: takes the owner inventory
owner_inventory:
  path: /etc/csdp/inventory.json
  reload: ["/usr/local/bin/reload"]
"""


def test_manifest_owner_inventory_path():
    with pytest.raises(ValueError, match="absolute path without '..'"):
        Manifest.model_validate({"name": "x", "summary": "x", "owner_inventory": {"path": "/etc/../inventory.json"}})
    with pytest.raises(ValueError):
        Manifest.model_validate({"name": "x", "summary": "x", "owner_inventory": {"path": "inventory.json"}})


def test_manifest_owner_address_only_in_actions():
    with pytest.raises(ValueError, match="allowed only for action parameters"):
        Manifest.model_validate({"name": "x", "summary": "x", "parameters": [{"name": "t", "type": "owner_address", "help": "h"}]})
    with pytest.raises(ValueError, match="only an owner_address parameter takes"):
        Parameter(name="t", type="string", help="h", max_items=2)


def test_check_owner_address_shapes():
    assert check_parameters([TARGETS], {"targets": "a, b c"}) == {"targets": ["a", "b", "c"]}
    assert check_parameters([TARGETS], {"targets": [" a ", "fd00::1"]}) == {"targets": ["a", "fd00::1"]}
    with pytest.raises(InvalidInput, match="is empty"):
        check_parameters([TARGETS], {"targets": " , "})
    with pytest.raises(InvalidInput, match="has 4 items; the maximum is 3"):
        check_parameters([TARGETS], {"targets": ["a", "b", "c", "d"]})
    with pytest.raises(InvalidInput, match="must be a list of container names or addresses"):
        check_parameters([TARGETS], {"targets": 7})


@pytest.fixture
def containers():
    runtime = FakeRuntime()
    runtime.add("alice", "web", replica=0, status="running", ip_address="10.1.0.2", ipv6_address="fd00::2")
    runtime.add("alice", "web", replica=1, status="running", ip_address=None, ipv6_address="fd00::3")
    runtime.add("alice", "web", replica=2, status="exited")
    runtime.add("bob", "web", replica=0, status="running", ip_address="10.1.0.9", ipv6_address="fd00::9")
    return runtime


def resolve(runtime: FakeRuntime, value) -> list[str]:
    values = check_parameters([TARGETS], {"targets": value})
    return resolve_owner_addresses([TARGETS], values, "alice", runtime.list)["targets"]


def test_resolve_own_containers(containers):
    first, second, _, _ = containers.list()
    assert resolve(containers, [first.name, second.name]) == ["10.1.0.2", "fd00::3"]
    assert resolve(containers, ["FD00:0::2", "10.1.0.2", first.id]) == ["fd00::2", "10.1.0.2"]


@pytest.mark.parametrize("target", ["10.1.0.9", "fd00::9", "127.0.0.1", "8.8.8.8", "10.1.0.0/24", "example.com", "job0-web"])
def test_resolve_rejects_other_targets(containers, target):
    with pytest.raises(InvalidInput) as raised:
        resolve(containers, target)
    assert repr(target) in raised.value.message
    assert raised.value.field == "parameters.targets"


def test_resolve_rejects_other_owner_by_name(containers):
    foreign = containers.list(owner="bob")[0]
    with pytest.raises(InvalidInput, match="is not the name, id or address of one of your containers"):
        resolve(containers, foreign.name)


def test_resolve_rejects_stopped_container(containers):
    stopped = containers.list()[2]
    with pytest.raises(InvalidInput, match="is exited and has no address; start it first"):
        resolve(containers, stopped.name)


def test_render_command_expands_lists():
    command = ["scan", "--", "{targets}", "--list={targets}", "{ports}"]
    assert render_command(command, {"targets": ["10.1.0.2", "fd00::2"], "ports": "80"}) == [
        "scan", "--", "10.1.0.2", "fd00::2", "--list=10.1.0.2,fd00::2", "80",
    ]


def test_inventory_entries_only_running(containers):
    entries = inventory_entries(containers.list(owner="alice"))
    assert [entry["ip_address"] for entry in entries] == ["10.1.0.2", None]
    assert set(entries[0]) == {"name", "service", "ip_address", "ipv6_address"}


class RecordingRuntime(FakeRuntime):
    """Keeps the files written with put_files."""

    def __init__(self) -> None:
        super().__init__()
        self.written: dict[tuple[str, str], bytes] = {}
        self.exec_result = ExecResult(0, b"", b"")

    def put_files(self, container_id, directory, archive) -> None:
        super().put_files(container_id, directory, archive)
        with tarfile.open(fileobj=archive) as tar:
            for member in tar.getmembers():
                self.written[(container_id, f"{directory}/{member.name}")] = tar.extractfile(member).read()


def test_sync_writes_only_owner_containers(tmp_path, containers):
    folder = tmp_path / "services" / "nameserver"
    folder.mkdir(parents=True)
    (folder / "service.yaml").write_text(NAMESERVER)
    catalog = Catalog({**{service.name: service for service in write_catalog(tmp_path / "other")},
                       "nameserver": Service(load_manifest(folder / "service.yaml"), folder)})
    runtime = RecordingRuntime()
    runtime.containers = dict(containers.containers)
    server = runtime.add("alice", "nameserver", job_id="job1", status="running", ip_address="10.1.0.5")
    runtime.add("bob", "nameserver", job_id="job2", status="running", ip_address="10.1.0.6")

    count = sync_owner_inventory("alice", "job1", runtime=runtime, catalog=catalog, client=fakeredis.FakeRedis())
    assert count == 1
    assert list(runtime.written) == [(server.id, "/etc/csdp/inventory.json")]
    entries = json.load(io.BytesIO(runtime.written[(server.id, "/etc/csdp/inventory.json")]))
    assert {entry["ip_address"] for entry in entries} == {"10.1.0.2", None, "10.1.0.5"}
    assert "10.1.0.9" not in json.dumps(entries)
    assert runtime.last_command == ["/usr/local/bin/reload"]
