"""HTTP transport on the standard library's http.client: one connection per request.

http.client keeps ``csdp <service> show`` fast: importing it loads 33 modules
here, httpx 121 and requests 284 (Python 3.11, httpx 0.29).
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import urllib.parse
from typing import Any, Iterable, Iterator

from csdp.client.errors import ApiUnreachable, error_from_body
from csdp.errors import InvalidInput, OperationTimeout

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


class Response:
    """A response whose body is read at once (``body``) or streamed (``lines``, ``chunks``)."""

    def __init__(self, raw: http.client.HTTPResponse, connection: http.client.HTTPConnection, url: str) -> None:
        self.status = raw.status
        self.headers = raw.headers
        self._raw = raw
        self._connection = connection
        self._url = url

    def read(self) -> bytes:
        try:
            return self._raw.read()
        finally:
            self.close()

    def json(self) -> Any:
        data = self.read()
        try:
            return json.loads(data) if data else None
        except ValueError:
            raise ApiUnreachable(
                f"{self._url} sent a response that is not JSON ({data[:60]!r}); check that CSDP_URL is the csdp API"
            ) from None

    def lines(self) -> Iterator[bytes]:
        """Yield the body line by line without the line ending, then close the connection."""
        try:
            while True:
                try:
                    line = self._raw.readline()
                except socket.timeout:
                    raise OperationTimeout(f"{self._url} sent nothing for too long; raise CSDP_TIMEOUT") from None
                except (OSError, http.client.HTTPException) as exc:
                    raise ApiUnreachable(f"the stream from {self._url} broke off: {exc!r}") from None
                if not line:
                    return
                yield line.rstrip(b"\r\n")
        finally:
            self.close()

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        try:
            while True:
                try:
                    chunk = self._raw.read(size)
                except socket.timeout:
                    raise OperationTimeout(f"{self._url} sent nothing for too long; raise CSDP_TIMEOUT") from None
                except (OSError, http.client.HTTPException) as exc:
                    raise ApiUnreachable(f"the download from {self._url} broke off: {exc!r}") from None
                if not chunk:
                    return
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._raw.close()
        self._connection.close()


class HttpTransport:
    """Send requests to ``<url>/api/v1`` with the bearer token; error responses raise csdp errors."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        parts = urllib.parse.urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
            raise InvalidInput(f"API URL {url!r} must look like http://HOST:PORT; fix CSDP_URL", field="url")
        self.url = url.rstrip("/")
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = port
        base = parts.path.rstrip("/")
        self._prefix = base if base.endswith(API_PREFIX) else base + API_PREFIX
        self._token = token
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        json_body: Any = None,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request and return the response; statuses of 400 and above raise."""
        target = self._prefix + path + _query_string(query)
        send_headers = {"Accept": "application/json", "User-Agent": "csdp-client"}
        if self._token:
            send_headers["Authorization"] = f"Bearer {self._token}"
        if json_body is not None:
            body = json.dumps(json_body).encode("utf-8")
            send_headers["Content-Type"] = "application/json"
        send_headers.update(headers or {})

        limit = timeout if timeout is not None else self.timeout
        connection = self._connection(limit)
        try:
            raw = self._send(connection, method, target, body, send_headers)
        except socket.timeout:
            connection.close()
            raise OperationTimeout(
                f"the API at {self.url} did not respond to {method} {path} within {limit:g} s; "
                "raise CSDP_TIMEOUT or check the API"
            ) from None
        except http.client.HTTPException as exc:
            connection.close()
            raise ApiUnreachable(
                f"the API at {self.url} sent an invalid response to {method} {path}: {exc!r}"
            ) from None
        except OSError as exc:
            connection.close()
            log.debug("cannot reach %s: %s", self.url, exc)
            raise ApiUnreachable(
                f"cannot reach the API at {self.url} ({exc.strerror or exc}); check CSDP_URL and that the API runs"
            ) from None

        response = Response(raw, connection, self.url + path)
        if response.status >= 400:
            raise _error_of(response)
        return response

    @staticmethod
    def _send(
        connection: http.client.HTTPConnection, method: str, target: str, body: Any, headers: dict[str, str]
    ) -> http.client.HTTPResponse:
        try:
            connection.request(method, target, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # A server may reject an upload (a missing directory, a size limit)
            # before it reads the whole body and close the connection. Its
            # response is then already in the socket buffer.
            if body is None:
                raise
            log.debug("the API closed the connection during the request body; reading its early response")
        return connection.getresponse()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._scheme == "https":
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)


def _error_of(response: Response) -> Exception:
    status = response.status
    try:
        data = response.read()
        body = json.loads(data) if data else {}
    except (ValueError, OSError):
        body = {}
    return error_from_body(body, status=status)


def _query_string(query: dict[str, Any] | None) -> str:
    if not query:
        return ""
    pairs = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        pairs.append((key, str(value)))
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""
