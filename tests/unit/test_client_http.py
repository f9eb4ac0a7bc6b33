"""The HTTP transport and error mapping, against a fake API on loopback.

``FakeApi`` here is also used by the other client and CLI unit tests.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

import pytest

from csdp import errors
from csdp.client.errors import ApiUnreachable, error_from_body
from csdp.client.transport import HttpTransport


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    # Chunks sent one by one, for ndjson and event streams.
    stream: Iterable[bytes] | None = None
    delay: float = 0.0
    # Respond before reading the request body, then close, as a server rejecting an upload early does.
    early: bool = False


Handler = Callable[[Request], Reply]


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stopped reading (a timeout test) is expected.
        pass


@dataclass
class FakeApi:
    """An HTTP server in a thread; routes map ``(method, path)`` to a handler or a fixed reply."""

    routes: dict[tuple[str, str], Handler | Reply] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    def route(self, method: str, path: str, reply: Handler | Reply | Any) -> None:
        if not isinstance(reply, Reply) and not callable(reply):
            reply = Reply(body=reply)
        self.routes[(method, "/api/v1" + path)] = reply

    def calls(self, method: str, path: str) -> list[Request]:
        return [item for item in self.requests if item.method == method and item.path == "/api/v1" + path]

    def start(self) -> str:
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                target = api.routes.get((self.command, parts.path))
                if isinstance(target, Reply) and target.early:
                    self._reply_early(target)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    self.command, parts.path, dict(urllib.parse.parse_qsl(parts.query)), dict(self.headers), body
                )
                api.requests.append(request)
                if target is None:
                    reply = Reply(404, {"detail": "Not Found"})
                else:
                    reply = target if isinstance(target, Reply) else target(request)
                if reply.delay:
                    time.sleep(reply.delay)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.stream is not None:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for chunk in reply.stream:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    return
                data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                if reply.status == 204:
                    data = b""
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _reply_early(self, reply: Reply) -> None:
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = QuietServer(("127.0.0.1", 0), RequestHandler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api():
    api = FakeApi()
    api.url = api.start()
    yield api
    api.stop()


def error_reply(cls: type[errors.CsdpError], message: str, **extra: Any) -> Reply:
    return Reply(cls.status, {"code": cls.code, "message": message, **extra})


def test_transport_sends_token_and_query(fake_api):
    fake_api.route("GET", "/containers", [])
    transport = HttpTransport(fake_api.url, "secret-token")

    transport.request("GET", "/containers", query={"service": "syslog", "all_users": True, "tail": None}).json()

    request = fake_api.calls("GET", "/containers")[0]
    assert request.headers["Authorization"] == "Bearer secret-token"
    assert request.query == {"service": "syslog", "all_users": "true"}


@pytest.mark.parametrize("url", ["http://", "http://127.0.0.1:notaport", "ftp://example"])
def test_transport_rejects_bad_url(url):
    with pytest.raises(errors.InvalidInput) as caught:
        HttpTransport(url, "t")
    assert "CSDP_URL" in caught.value.message


def test_transport_accepts_url_with_prefix(fake_api):
    fake_api.route("GET", "/services", [])
    assert HttpTransport(fake_api.url + "/api/v1/", "t").request("GET", "/services").json() == []


@pytest.mark.parametrize(
    "cls",
    [
        errors.InvalidInput,
        errors.NotFound,
        errors.Unauthorized,
        errors.Forbidden,
        errors.LimitExceeded,
        errors.Conflict,
        errors.PayloadTooLarge,
        errors.BadRequest,
        errors.EngineUnavailable,
    ],
)
def test_error_response_maps_to_class(fake_api, cls):
    fake_api.route("POST", "/services/syslog/start", error_reply(cls, "bad num", field="num"))
    transport = HttpTransport(fake_api.url, "t")

    with pytest.raises(cls) as caught:
        transport.request("POST", "/services/syslog/start", json_body={"num": 0})

    assert type(caught.value) is cls
    assert caught.value.message == "bad num"
    assert caught.value.field == "num"


def test_error_keeps_details(fake_api):
    body = {"code": "limit_exceeded", "message": "too many", "details": {"limit": 30, "value": 31}}
    fake_api.route("POST", "/services/syslog/start", Reply(429, body))

    with pytest.raises(errors.LimitExceeded) as caught:
        HttpTransport(fake_api.url, "t").request("POST", "/services/syslog/start", json_body={})

    assert caught.value.details == {"limit": 30, "value": 31}


def test_error_without_csdp_body_uses_status(fake_api):
    with pytest.raises(errors.NotFound) as caught:
        HttpTransport(fake_api.url, "t").request("GET", "/no/such/route")
    assert caught.value.message == "Not Found"


def test_error_of_unknown_code_keeps_code():
    exc = error_from_body({"code": "method_not_allowed", "message": "no"}, status=405)
    assert type(exc) is errors.CsdpError
    assert exc.code == "method_not_allowed"
    assert exc.status == 405


def test_step_failed_body_keeps_step():
    body = {"code": "step_failed", "message": "network missing", "details": {"step": "connect", "replica": 2}}
    exc = error_from_body(body, status=500)
    assert isinstance(exc, errors.StepFailed)
    assert exc.step == "connect"
    assert exc.replica == 2


def test_runtime_failure_body_keeps_container():
    body = {"code": "runtime_failure", "message": "engine said no", "details": {"container": "abc"}}
    exc = error_from_body(body, status=502)
    assert isinstance(exc, errors.RuntimeFailure)
    assert exc.container == "abc"


def test_unreachable_api_raises_api_unreachable():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ApiUnreachable) as caught:
        HttpTransport(f"http://127.0.0.1:{port}", "t").request("GET", "/services")
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "CSDP_URL" in caught.value.message


def test_early_rejection_of_upload_keeps_error(fake_api):
    message = "directory '/does/not/exist' does not exist in container c1; create it or pick another path"
    fake_api.route("PUT", "/containers/c1/files", Reply(404, {"code": "not_found", "message": message}, early=True))
    body = (b"x" * 65536 for _ in range(200))

    with pytest.raises(errors.NotFound) as caught:
        HttpTransport(fake_api.url, "t").request(
            "PUT", "/containers/c1/files", body=body, headers={"Content-Length": str(65536 * 200)}
        )

    assert caught.value.message == message


def test_slow_api_raises_timeout(fake_api):
    fake_api.route("GET", "/services", Reply(body=[], delay=1.0))
    with pytest.raises(errors.OperationTimeout) as caught:
        HttpTransport(fake_api.url, "t", timeout=0.2).request("GET", "/services")
    assert "CSDP_TIMEOUT" in caught.value.message
