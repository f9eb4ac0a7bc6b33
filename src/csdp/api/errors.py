"""Map every error to an HTTP status and a ``wire.ErrorBody``.

CsdpError subclasses carry their own status. Request validation errors become
422 naming the field and what is allowed. Anything else is a bug: the client
gets 500 with a generic message and the traceback goes to the log at ERROR.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from csdp.errors import CsdpError
from csdp.wire import ErrorBody

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "internal server error; the server log has the details, tell the operator the time of the request"
SHOWN_INPUT_CHARS = 80

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "invalid_input"}


def error_response(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(jsonable_encoder(body.model_dump(exclude_none=True)), status_code=status, headers=headers)


def csdp_error_response(exc: CsdpError) -> JSONResponse:
    body = ErrorBody.model_validate(jsonable_encoder(exc.to_dict()))
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return error_response(exc.status, body, headers)


async def _handle_csdp_error(request: Request, exc: CsdpError) -> JSONResponse:
    # A user's mistake is expected: log it without a traceback.
    level = logging.ERROR if exc.status >= 500 else logging.INFO
    log.log(level, "%s %s: %s %s", request.method, request.url.path, exc.status, exc.message)
    return csdp_error_response(exc)


async def _handle_http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and message == "Not Found":
        message = f"no route {request.url.path}; the routes are listed at /api/v1/docs"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}; the routes are listed at /api/v1/docs"
    return error_response(exc.status_code, ErrorBody(code=code, message=message), getattr(exc, "headers", None))


def allowed_values(field: str, request: Request) -> str | None:
    """Return what a field accepts when the error message alone does not say it, such as the caller's limit."""
    if field != "num":
        return None
    # The start route stores the smaller of the service's and the caller's limit before the body is checked.
    limit = getattr(request.state, "replica_limit", None)
    if limit is not None:
        return f"an integer from 1 to {limit}"
    return "an integer from 1 to your limit of replicas per request"


def allowed_range(field: str, request: Request) -> dict[str, int]:
    """Return ``minimum`` and ``maximum`` of a field with a range, as the range checks of submit report them."""
    if field != "num":
        return {}
    limit = getattr(request.state, "replica_limit", None)
    return {"minimum": 1} if limit is None else {"minimum": 1, "maximum": limit}


def _show(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= SHOWN_INPUT_CHARS else text[:SHOWN_INPUT_CHARS] + "..."


def _missing_body_errors(request: Request) -> list[dict] | None:
    """Return the errors of an empty object, so a missing body names the first required field."""
    route = request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    model = getattr(getattr(body_field, "field_info", None), "annotation", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    try:
        model.model_validate({})
    except ValidationError as exc:
        return [{**error, "loc": ("body", *error["loc"])} for error in exc.errors(include_url=False)]
    return None


def validation_error_body(errors: list[dict], request: Request) -> ErrorBody:
    """Build the 422 body from pydantic errors: the first error names the field and what is allowed."""
    if errors and tuple(errors[0]["loc"]) == ("body",) and errors[0]["type"] == "missing":
        errors = _missing_body_errors(request) or errors
    first = errors[0]
    location = [str(part) for part in first["loc"]]
    field = ".".join(location[1:]) or location[0]
    if first["type"] == "json_invalid":
        # The location of a JSON syntax error is a character position, not a field.
        field = "body"

    allowed = allowed_values(field, request)
    reason = first["msg"]
    if reason[:2].istitle():
        reason = reason[0].lower() + reason[1:]
    if first["type"] == "json_invalid":
        message = f"the body is not valid JSON (error near character {location[-1]}); send a JSON object"
    elif first["type"] == "missing":
        message = f"{field} is required" + (f": give {allowed}" if allowed else "")
    elif allowed:
        message = f"{field} must be {allowed}, got {_show(first.get('input'))}"
    else:
        message = f"{field} is invalid: {reason}, got {_show(first.get('input'))}"
    problems = [
        {"field": ".".join(str(part) for part in error["loc"]), "type": error["type"], "message": error["msg"]}
        for error in errors
    ]
    # A wrong type on a ranged field carries the range too, like an out-of-range value does.
    details = {**allowed_range(field, request), "errors": problems}
    return ErrorBody(code="invalid_input", message=message, field=field, details=details)


async def _handle_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    body = validation_error_body(list(exc.errors()), request)
    log.info("%s %s: 422 %s", request.method, request.url.path, body.message)
    return error_response(422, body)


class CatchAllMiddleware:
    """Turn an unexpected exception into a 500 ErrorBody and log its traceback once, at ERROR."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            log.exception("unexpected error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                # The status is already sent; the server closes the connection.
                raise
            response = error_response(500, ErrorBody(code="internal_error", message=INTERNAL_MESSAGE))
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CsdpError, _handle_csdp_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_error)
    app.add_middleware(CatchAllMiddleware)
