"""A size limit on request bodies, checked before any route reads one.

FastAPI reads a JSON body into memory before it solves the dependencies that
check the bearer token, so without this limit anyone could make the API hold
an arbitrarily large body. The upload route is exempt: it streams the body to
disk under its own limit, ``max_upload_bytes``.
"""

from __future__ import annotations

import logging
import re

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from csdp.api.errors import error_response
from csdp.wire import ErrorBody

log = logging.getLogger(__name__)

# PUT /api/v1/containers/{container_id}/files, whatever the root path.
UPLOAD_PATH = re.compile(r"/containers/[^/]+/files/?$")


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body without Content-Length passes the limit, so the route stops reading.

    FastAPI passes a Starlette HTTPException from body reading on unchanged,
    where any other exception would become a 400.
    """

    def __init__(self, message: str) -> None:
        super().__init__(status_code=413, detail=message)


def too_large_body(max_bytes: int) -> ErrorBody:
    return ErrorBody(
        code="payload_too_large",
        message=f"the request body is larger than the limit of {max_bytes} bytes (CSDP_MAX_REQUEST_BYTES); send a smaller body",
        details={"limit": "max_request_bytes", "value": max_bytes},
    )


def is_exempt(scope: Scope) -> bool:
    """Return whether the request is a file upload, which has its own streaming limit."""
    return scope.get("method") == "PUT" and UPLOAD_PATH.search(scope.get("path", "")) is not None


class BodyLimitMiddleware:
    """Reject a request body above ``max_bytes`` with 413.

    A Content-Length above the limit is rejected at once, without calling the
    route. A body without one (chunked) is counted as the route reads it; past
    the limit the route's read fails and the response becomes the 413.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_exempt(scope):
            await self.app(scope, receive, send)
            return

        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            log.info("%s %s: 413, Content-Length %s is above the limit of %d bytes", scope.get("method"), scope.get("path"),
                     declared, self.max_bytes)
            await error_response(413, too_large_body(self.max_bytes), {"Connection": "close"})(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False
        replaced = False

        async def receive_counting() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge(too_large_body(self.max_bytes).message)
            return message

        async def send_413() -> None:
            nonlocal started, replaced
            started = replaced = True
            log.info("%s %s: 413, the body passed the limit of %d bytes", scope.get("method"), scope.get("path"), self.max_bytes)
            await error_response(413, too_large_body(self.max_bytes), {"Connection": "close"})(scope, receive, send)

        async def send_replacing(message: Message) -> None:
            nonlocal started
            if replaced:
                return
            if message["type"] == "http.response.start":
                if exceeded:
                    # Whatever the route made of the failed read, the client gets the one 413 body.
                    await send_413()
                    return
                started = True
            await send(message)

        try:
            await self.app(scope, receive_counting, send_replacing)
        except BodyTooLarge:
            if started and not replaced:
                raise
            if not replaced:
                await send_413()
