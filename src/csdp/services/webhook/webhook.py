"""HTTP receiver that records every request as one JSON line and responds with JSON.

Each record holds the time, client address, method, path, query, headers and
body. A body that is valid UTF-8 is stored as text; any other body is stored as
base64 with ``body_encoding`` set to ``base64``. Records go to stdout (the
container log) and to the file that the ``requests`` action prints.

Environment: WEBHOOK_PORT (default 80), WEBHOOK_STATUS (status code of every
response, default 200), WEBHOOK_LOG (default /var/log/csdp/requests.jsonl),
WEBHOOK_MAX_BODY (largest stored body in bytes, default 10 MiB).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PORT = int(os.environ.get("WEBHOOK_PORT", "80"))
STATUS = int(os.environ.get("WEBHOOK_STATUS", "200"))
LOG_PATH = os.environ.get("WEBHOOK_LOG", "/var/log/csdp/requests.jsonl")
MAX_BODY = int(os.environ.get("WEBHOOK_MAX_BODY", str(10 * 1024 * 1024)))

_write_lock = threading.Lock()


class BodyTooLarge(Exception):
    pass


def _read_chunked(stream) -> bytes:
    """Read a body sent with ``Transfer-Encoding: chunked``, which http.server leaves to the handler."""
    body = bytearray()
    while True:
        size_line = stream.readline(1024)
        size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        if size < 0:
            raise ValueError(size)
        if size == 0:
            # Skip optional trailer fields up to the empty line.
            while stream.readline(8192) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(body)
        if len(body) + size > MAX_BODY:
            raise BodyTooLarge
        body += stream.read(size)
        stream.readline(1024)


def _headers(handler: BaseHTTPRequestHandler) -> dict[str, str]:
    """Return the request headers; a repeated header keeps all values, joined as HTTP allows."""
    headers: dict[str, str] = {}
    for name, value in handler.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _record(handler: BaseHTTPRequestHandler, body: bytes) -> dict:
    url = urlsplit(handler.path)
    record = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "client": handler.client_address[0].removeprefix("::ffff:"),
        "method": handler.command,
        "path": url.path,
        "query": parse_qs(url.query, keep_blank_values=True),
        "raw_query": url.query,
        "headers": _headers(handler),
        "body": "",
        "body_encoding": "text",
        "body_bytes": len(body),
    }
    try:
        record["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        record["body"] = base64.b64encode(body).decode("ascii")
        record["body_encoding"] = "base64"
    return record


def _store(record: dict) -> None:
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    with _write_lock:
        with open(LOG_PATH, "a", encoding="utf-8") as log_file:
            log_file.write(line)
        sys.stdout.write(line)
        sys.stdout.flush()


class RecordingHandler(BaseHTTPRequestHandler):
    server_version = "csdp-webhook/1"
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except BodyTooLarge:
            self._respond(413, {"status": "rejected", "reason": f"body larger than {MAX_BODY} bytes"}, close=True)
            return
        except ValueError:
            self._respond(400, {"status": "rejected", "reason": "malformed Content-Length or chunk size"}, close=True)
            return
        record = _record(self, body)
        _store(record)
        self._respond(STATUS, {"status": "recorded", "method": record["method"], "path": record["path"], "bytes": len(body)})

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError(length)
        if length > MAX_BODY:
            raise BodyTooLarge
        return self.rfile.read(length)

    def _respond(self, status: int, payload: dict, *, close: bool = False) -> None:
        # 204 and 304 responses must not carry a body.
        data = b"" if status in (204, 304) else json.dumps(payload).encode("utf-8") + b"\n"
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def log_message(self, format: str, *args) -> None:
        # The JSON record on stdout replaces the default access log line on stderr.
        pass


class DualStackServer(ThreadingHTTPServer):
    """Listens on IPv6 and, through IPv4-mapped addresses, on IPv4 with one socket."""

    address_family = socket.AF_INET6
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def main() -> None:
    open(LOG_PATH, "a").close()
    server = DualStackServer(("::", PORT), RecordingHandler)
    print(f"webhook listening on port {PORT}, responding {STATUS}, recording to {LOG_PATH}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
