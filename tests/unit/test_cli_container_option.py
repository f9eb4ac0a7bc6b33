"""An empty container id is a usage error, never "all containers", in the CLI and in the client."""

from __future__ import annotations

import pytest
from test_cli_service_commands import cli  # noqa: F401  (fixture)
from test_client_http import fake_api  # noqa: F401  (fixture)
from test_client_shortform import CONTAINER, micro  # noqa: F401  (fixture)

from csdp.errors import InvalidInput


@pytest.mark.parametrize(
    "argv",
    [["stop"], ["restart"], ["delete"], ["messages"], ["monitor"], ["exec", "--container", "", "--", "true"]],
)
def test_empty_container_option_exits_2(cli, fake_api, argv):
    fake_api.route("GET", "/containers", [CONTAINER])

    code, out, err = cli("syslog", *argv, *([] if "--" in argv else ["--container", ""]))

    assert code == 2
    assert "--container is empty" in err
    assert [request for request in fake_api.requests if request.method == "POST"] == []


@pytest.mark.parametrize("method", ["stop_service", "restart_service", "delete_service", "messages"])
def test_empty_container_argument_raises(micro, fake_api, method):
    with pytest.raises(InvalidInput, match="container is empty"):
        getattr(micro.syslog, method)(container="")

    assert fake_api.requests == []
