"""Exceptions of csdp: one root, subclasses that carry what a caller needs to act.

Every subclass has a stable ``code`` (sent to clients in the error body) and the
HTTP ``status`` the API answers with. ``message`` is written for the user and
says what to do next; operator detail goes to the logs, not into the message.
"""

from __future__ import annotations

from typing import Any


class CsdpError(Exception):
    """Root of every error that csdp raises on purpose."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form: ``{"code", "message", "field"?, "details"?}``."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(CsdpError):
    """A request value is out of range, of the wrong type or malformed."""

    code = "invalid_input"
    status = 422


class BadRequest(CsdpError):
    """A request is well formed but cannot be accepted, such as an unsafe path."""

    code = "bad_request"
    status = 400


class NotFound(CsdpError):
    """A service, container, job, path or user does not exist or is not the caller's."""

    code = "not_found"
    status = 404


class Conflict(CsdpError):
    """The target is in a state that does not allow the request."""

    code = "conflict"
    status = 409


class LimitExceeded(CsdpError):
    """A per-user or per-request limit would be passed; details name the limit and value."""

    code = "limit_exceeded"
    status = 429


class Unauthorized(CsdpError):
    """The request has no valid bearer token."""

    code = "unauthorized"
    status = 401


class Forbidden(CsdpError):
    """The caller is known but may not perform the request."""

    code = "forbidden"
    status = 403


class PayloadTooLarge(CsdpError):
    """An upload is larger than the configured limit."""

    code = "payload_too_large"
    status = 413


class ManifestError(CsdpError):
    """A service manifest is invalid; ``details`` hold the file, the field and the fix."""

    code = "invalid_manifest"
    status = 500


class EngineUnavailable(CsdpError):
    """The container engine, the broker or Redis cannot be reached."""

    code = "engine_unavailable"
    status = 503


class RuntimeFailure(CsdpError):
    """The container engine rejected or failed an operation on a container."""

    code = "runtime_failure"
    status = 502

    def __init__(self, message: str, *, container: str | None = None, **details: Any) -> None:
        super().__init__(message, container=container, **details)
        self.container = container


class OperationTimeout(CsdpError):
    """An operation did not finish in its time limit."""

    code = "timeout"
    status = 504


class ImageBuildError(CsdpError):
    """An image could not be built; the message names the image and the failing step."""

    code = "image_build_failed"
    status = 500


class StepFailed(CsdpError):
    """A workflow step failed; the job record keeps the step, the replica and the reason."""

    code = "step_failed"
    status = 500

    def __init__(self, message: str, *, step: str, replica: int | None = None, **details: Any) -> None:
        super().__init__(message, step=step, replica=replica, **details)
        self.step = step
        self.replica = replica
