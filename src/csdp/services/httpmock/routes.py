"""Mock routes: where they come from, how they are checked and matched.

A route file or the HTTPMOCK_ROUTES variable contains a JSON list of routes, or an
object with a "routes" list. Each route is an object:

    {"method": "GET", "path": "/api/items/*", "status": 200,
     "headers": {"X-Mock": "1"}, "body": {"items": []}, "delay_ms": 250}

method defaults to "*" (any method); path is an exact path or a glob pattern
(fnmatch: * and ? and [...]) matched against the path without its query string;
status defaults to 200; a body that is not a string is sent as JSON with
Content-Type application/json unless headers name another type. The first
matching route wins, and routes of the file come before those of the variable.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

MAX_DELAY_MS = 600_000
ROUTE_FIELDS = {"method", "path", "status", "headers", "body", "delay_ms"}


class RouteError(ValueError):
    """A route definition is invalid; the message names the source, the route and the fix."""


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_ms: int = 0
    source: str = ""

    def matches(self, method: str, path: str) -> bool:
        if self.method not in ("*", method.upper()):
            return False
        return path == self.path or fnmatch.fnmatchcase(path, self.path)

    def describe(self) -> dict[str, Any]:
        """Return the route as JSON-ready data, the body shown as text."""
        return {
            "source": self.source,
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "delay_ms": self.delay_ms,
        }


def parse_routes(text: str, source: str) -> list[Route]:
    """Parse a JSON document of routes; raise RouteError naming the first bad field."""
    if not text.strip():
        return []
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RouteError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if isinstance(document, dict) and "routes" in document:
        document = document["routes"]
    if not isinstance(document, list):
        raise RouteError(f"{source}: expected a JSON list of routes or an object with a 'routes' list")
    return [_parse_route(item, f"{source}: route {index}") for index, item in enumerate(document)]


def _parse_route(item: Any, where: str) -> Route:
    if not isinstance(item, dict):
        raise RouteError(f"{where}: expected an object such as {{\"method\": \"GET\", \"path\": \"/\"}}")
    unknown = sorted(set(item) - ROUTE_FIELDS)
    if unknown:
        raise RouteError(f"{where}: unknown field {unknown[0]!r}; allowed fields: {', '.join(sorted(ROUTE_FIELDS))}")

    method = item.get("method", "*")
    if not isinstance(method, str) or not method or not (method == "*" or method.isalpha()):
        raise RouteError(f"{where}: method {method!r} is not an HTTP method name such as GET, or '*' for any")
    path = item.get("path")
    if not isinstance(path, str) or not path.startswith(("/", "*")):
        raise RouteError(f"{where}: path {path!r} must be a string starting with '/' (or a pattern starting with '*')")
    status = item.get("status", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise RouteError(f"{where}: status {status!r} must be an integer from 100 to 599")
    delay_ms = item.get("delay_ms", 0)
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, int) or not 0 <= delay_ms <= MAX_DELAY_MS:
        raise RouteError(f"{where}: delay_ms {delay_ms!r} must be an integer from 0 to {MAX_DELAY_MS}")

    headers = item.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise RouteError(f"{where}: headers must be an object of string names to string values")
    for name, value in headers.items():
        if not name or any(c in name for c in " :\r\n") or any(c in value for c in "\r\n"):
            raise RouteError(f"{where}: header {name!r} has a name or value that cannot be sent; remove spaces, colons and line breaks")

    body = item.get("body", "")
    if isinstance(body, str):
        body_bytes = body.encode("utf-8")
    else:
        body_bytes = json.dumps(body).encode("utf-8")
        if not any(name.lower() == "content-type" for name in headers):
            headers = {**headers, "Content-Type": "application/json"}

    return Route(method.upper(), path, status, dict(headers), body_bytes, delay_ms, where)


def find_route(routes: list[Route], method: str, path: str) -> tuple[int, Route] | None:
    """Return the index and the first route matching ``method`` and ``path``, or None."""
    for index, route in enumerate(routes):
        if route.matches(method, path):
            return index, route
    return None
