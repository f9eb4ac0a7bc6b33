"""HTTP mock server: responds to each request from the configured routes and records it.

Commands (the container runs "serve"; the service's actions run the others):
  serve           serve HTTP on HTTPMOCK_PORT (80) over IPv4 and IPv6
  reload          check the routes and make the running server read them again
  routes          print the routes the server uses, in match order, as JSON
  requests        print the recorded requests, one JSON object per line
  clear-requests  forget the recorded requests
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from routes import Route, RouteError, find_route, parse_routes

ROUTES_FILE = Path(os.environ.get("HTTPMOCK_ROUTES_FILE", "/etc/httpmock/routes.json"))
REQUESTS_FILE = Path(os.environ.get("HTTPMOCK_REQUESTS_FILE", "/var/log/httpmock/requests.jsonl"))
PID_FILE = Path(os.environ.get("HTTPMOCK_PID_FILE", "/run/httpmock/httpmock.pid"))
# The server writes the routes it loaded here, so the routes command shows what is
# in force even after an invalid file was rejected.
ACTIVE_ROUTES_FILE = PID_FILE.with_name("routes.json")
PORT = int(os.environ.get("HTTPMOCK_PORT", "80"))
MAX_BODY_BYTES = 10 * 1024 * 1024
# Recorded bodies are cut to this size so a large upload does not fill the log.
MAX_RECORDED_BODY_BYTES = 64 * 1024

log = logging.getLogger("httpmock")


def load_routes() -> list[Route]:
    """Read the routes of the file, then those of HTTPMOCK_ROUTES; raise RouteError on a bad one."""
    routes: list[Route] = []
    if ROUTES_FILE.is_file():
        routes += parse_routes(ROUTES_FILE.read_text(encoding="utf-8"), str(ROUTES_FILE))
    routes += parse_routes(os.environ.get("HTTPMOCK_ROUTES", ""), "parameter routes")
    return routes


class RouteTable:
    """The routes in force; re-read when the route file changes or on SIGHUP."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._file_state: tuple[int, int] | None = None
        self.routes: list[Route] = []

    def _current_file_state(self) -> tuple[int, int] | None:
        try:
            stat = ROUTES_FILE.stat()
        except FileNotFoundError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload(self, reason: str) -> None:
        """Load the routes again; on a bad definition keep the old ones and log the error."""
        with self._lock:
            self._file_state = self._current_file_state()
            try:
                self.routes = load_routes()
            except (RouteError, OSError, UnicodeDecodeError) as exc:
                log.error("routes not reloaded (%s), keeping %d routes: %s", reason, len(self.routes), exc)
                return
            ACTIVE_ROUTES_FILE.write_text(json.dumps([route.describe() for route in self.routes], indent=2) + "\n")
            log.info("loaded %d routes (%s)", len(self.routes), reason)

    def current(self) -> list[Route]:
        if self._current_file_state() != self._file_state:
            self.reload(f"{ROUTES_FILE} changed")
        return self.routes


class RequestRecorder:
    """Appends one JSON line per request to the requests file."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._path = path

    def record(self, entry: dict) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock, self._path.open("a", encoding="utf-8") as stream:
            stream.write(line)


class MockHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "csdp-httpmock"
    table: RouteTable
    recorder: RequestRecorder

    def handle_request(self) -> None:
        received = datetime.now(timezone.utc)
        url = urlsplit(self.path)
        body, body_error = self._read_body()

        match = find_route(self.table.current(), self.command, url.path)
        if body_error is not None:
            index, delay_ms = None, 0
            status, payload = body_error
            headers = {"Content-Type": "application/json"}
        elif match is None:
            index = None
            status, delay_ms = 404, 0
            headers = {"Content-Type": "application/json"}
            payload = json.dumps({"error": "no route matched", "method": self.command, "path": url.path}).encode()
        else:
            index, route = match
            status, headers, payload, delay_ms = route.status, route.headers, route.body, route.delay_ms

        self.recorder.record(self._entry(received, url, body, index, status, delay_ms))
        if delay_ms:
            time.sleep(delay_ms / 1000)
        self._respond(status, headers, payload)

    def _read_body(self) -> tuple[bytes, tuple[int, bytes] | None]:
        """Return the request body, and the error status and payload when it is too large or malformed."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b"", (400, b'{"error": "invalid Content-Length"}')
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return b"", (413, json.dumps({"error": f"request body of {length} bytes is above the maximum of {MAX_BODY_BYTES}"}).encode())
        return self.rfile.read(length) if length > 0 else b"", None

    def _read_chunked(self) -> tuple[bytes, tuple[int, bytes] | None]:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                self.close_connection = True
                return b"".join(chunks), (400, b'{"error": "invalid chunk size in a chunked body"}')
            if size == 0:
                # Skip trailer fields up to the empty line that ends the body.
                while self.rfile.readline(8192).strip():
                    pass
                return b"".join(chunks), None
            total += size
            if total > MAX_BODY_BYTES:
                self.close_connection = True
                return b"", (413, json.dumps({"error": f"request body is above the maximum of {MAX_BODY_BYTES} bytes"}).encode())
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _entry(self, received: datetime, url, body: bytes, index: int | None, status: int, delay_ms: int) -> dict:
        recorded = body[:MAX_RECORDED_BODY_BYTES]
        entry = {
            "time": received.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "client": self.client_address[0].removeprefix("::ffff:"),
            "client_port": self.client_address[1],
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "http_version": self.request_version,
            "headers": [[name, value] for name, value in self.headers.items()],
            "body_size": len(body),
            "route": index,
            "status": status,
            "delay_ms": delay_ms,
        }
        try:
            entry["body"] = recorded.decode("utf-8")
        except UnicodeDecodeError:
            entry["body_base64"] = base64.b64encode(recorded).decode("ascii")
        if len(body) > len(recorded):
            entry["body_truncated"] = True
        return entry

    def _respond(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304) and status >= 200:
            self.wfile.write(payload)

    def log_message(self, format: str, *args) -> None:
        log.info("%s %s", self.client_address[0].removeprefix("::ffff:"), format % args)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_request


class DualStackServer(ThreadingHTTPServer):
    """Listens on :: with IPV6_V6ONLY off, so IPv4 clients connect to the same socket."""

    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def serve() -> int:
    table = RouteTable()
    table.reload("start")
    MockHandler.table = table
    MockHandler.recorder = RequestRecorder(REQUESTS_FILE)
    REQUESTS_FILE.touch()

    try:
        server: ThreadingHTTPServer = DualStackServer(("::", PORT), MockHandler)
    except OSError as exc:
        # A container without IPv6 support still serves IPv4.
        log.warning("cannot listen on [::]:%d (%s); listening on IPv4 only", PORT, exc)
        ThreadingHTTPServer.daemon_threads = True
        server = ThreadingHTTPServer(("0.0.0.0", PORT), MockHandler)

    signal.signal(signal.SIGHUP, lambda signum, frame: table.reload("SIGHUP"))
    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown).start())
    PID_FILE.write_text(f"{os.getpid()}\n")
    log.info("serving HTTP on port %d with %d routes", PORT, len(table.routes))
    server.serve_forever()
    log.info("stopped")
    return 0


def reload() -> int:
    try:
        routes = load_routes()
    except (RouteError, OSError, UnicodeDecodeError) as exc:
        print(f"routes not reloaded: {exc}", file=sys.stderr)
        return 1
    try:
        os.kill(int(PID_FILE.read_text()), signal.SIGHUP)
    except (OSError, ValueError) as exc:
        print(f"cannot signal the server through {PID_FILE}: {exc}; is it running?", file=sys.stderr)
        return 1
    print(f"reloaded {len(routes)} routes")
    return 0


def print_routes() -> int:
    if not ACTIVE_ROUTES_FILE.is_file():
        print("the server has not loaded routes yet", file=sys.stderr)
        return 1
    sys.stdout.write(ACTIVE_ROUTES_FILE.read_text())
    return 0


def print_requests() -> int:
    if REQUESTS_FILE.is_file():
        with REQUESTS_FILE.open("rb") as stream:
            sys.stdout.buffer.write(stream.read())
    return 0


def clear_requests() -> int:
    REQUESTS_FILE.write_bytes(b"")
    print("recorded requests cleared")
    return 0


COMMANDS = {
    "serve": serve,
    "reload": reload,
    "routes": print_routes,
    "requests": print_requests,
    "clear-requests": clear_requests,
}


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    if len(argv) != 2 or argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    return COMMANDS[argv[1]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
