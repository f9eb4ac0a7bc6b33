"""Translation of SDK errors into csdp errors."""

from __future__ import annotations

import docker.errors
import pytest
import requests

from csdp.errors import Conflict, EngineUnavailable, NotFound, OperationTimeout, RuntimeFailure
from csdp.runtime.engine_errors import engine_errors, translate


def _api_error(status: int, explanation: str, kind=docker.errors.APIError) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return kind("engine error", response=response, explanation=explanation)


def test_missing_container():
    error = translate(_api_error(404, "No such container: abc", docker.errors.NotFound), container="abc")

    assert isinstance(error, NotFound)
    assert "container abc" in error.message


def test_missing_path():
    error = translate(
        _api_error(404, "Could not find the file /nope", docker.errors.NotFound), container="abc", path="/nope"
    )

    assert isinstance(error, NotFound)
    assert "/nope" in error.message
    assert error.details["path"] == "/nope"


def test_missing_container_during_path_operation():
    error = translate(_api_error(404, "No such container: abc", docker.errors.NotFound), container="abc", path="/tmp")

    assert "container abc" in error.message


def test_connection_refused():
    error = translate(requests.exceptions.ConnectionError("refused"))

    assert isinstance(error, EngineUnavailable)


def test_read_timeout():
    assert isinstance(translate(requests.exceptions.ReadTimeout("slow"), container="abc"), OperationTimeout)


def test_other_api_error():
    error = translate(_api_error(500, "oci runtime failed"), container="abc123", operation="start")

    assert isinstance(error, RuntimeFailure)
    assert error.container == "abc123"
    assert "oci runtime failed" in error.message
    assert "start" in error.message


def test_not_running_is_conflict():
    error = translate(_api_error(409, "Container abc is not running"), container="abc", operation="exec")

    assert isinstance(error, Conflict)


@pytest.mark.parametrize(
    "exc",
    [
        _api_error(404, "No such container: abc", docker.errors.NotFound),
        _api_error(409, "removal of container abc is already in progress"),
    ],
)
def test_gone_ok_swallows(exc):
    with engine_errors("removal", container="abc", gone_ok=True):
        raise exc


def test_gone_ok_keeps_other_conflicts():
    with pytest.raises(RuntimeFailure):
        with engine_errors("removal", container="abc", gone_ok=True):
            raise _api_error(409, "You cannot remove a running container")
