"""Client-side errors, and the mapping of error responses to ``csdp.errors`` classes."""

from __future__ import annotations

from typing import Any

from csdp import errors
from csdp.errors import CsdpError, EngineUnavailable, OperationTimeout

# Fallback by HTTP status, for responses that carry no csdp error body (a proxy
# in front of the API, or a route the server does not know).
_BY_STATUS: dict[int, type[CsdpError]] = {
    400: errors.BadRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    422: errors.InvalidInput,
    429: errors.LimitExceeded,
    503: errors.EngineUnavailable,
    504: errors.OperationTimeout,
}


class ApiUnreachable(EngineUnavailable):
    """The API did not accept a connection or the broker could not be reached."""

    code = "api_unreachable"


class WaitTimeout(OperationTimeout):
    """A job did not reach a final state before the client stopped waiting."""

    def __init__(self, message: str, *, job_id: str, state: str | None = None) -> None:
        super().__init__(message, job_id=job_id, state=state)
        self.job_id = job_id
        self.state = state


class JobFailed(CsdpError):
    """A job ended ``failed``; ``error`` is the job record's error as a csdp exception."""

    code = "job_failed"
    status = 500

    def __init__(self, record: dict[str, Any]) -> None:
        body = record.get("error") or {}
        self.record = record
        self.job_id = record.get("id", "")
        self.error = error_from_body(body, status=500)
        details = body.get("details") or {}
        self.step = details.get("step")
        self.replica = details.get("replica")
        # Job records keep the bare reason in details; the message repeats the step in front of it.
        self.reason = details.get("reason") or body.get("message") or "no reason recorded"
        where = f" at step {self.step}" if self.step else ""
        if self.replica is not None:
            where += f" of replica {self.replica}"
        super().__init__(f"job {self.job_id} failed{where}: {self.reason}", job_id=self.job_id, step=self.step)


def _known_classes() -> dict[str, type[CsdpError]]:
    found: dict[str, type[CsdpError]] = {}
    pending = [CsdpError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_from_body(body: Any, *, status: int) -> CsdpError:
    """Build the csdp exception named by an error body's ``code``, keeping message, field and details.

    A body without a known code falls back to the class of the HTTP status.
    """
    if not isinstance(body, dict):
        body = {}
    code = body.get("code")
    message = body.get("message") or _message_without_body(body, status)
    field = body.get("field")
    details = body.get("details") or {}
    cls = _known_classes().get(code) if isinstance(code, str) else None
    if cls is None:
        cls = _BY_STATUS.get(status, CsdpError)

    # Some classes take required keyword arguments (step, container); building
    # through the root initializer keeps every class constructible from a body.
    exc = cls.__new__(cls)
    CsdpError.__init__(exc, message, field=field, **details)
    for name in ("step", "replica", "container"):
        if name in details:
            setattr(exc, name, details[name])
    if isinstance(code, str) and code != cls.code:
        exc.code = code
    exc.status = status
    return exc


def _message_without_body(body: dict[str, Any], status: int) -> str:
    detail = body.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        where = ".".join(str(part) for part in first.get("loc", []))
        return f"{where}: {first.get('msg', 'invalid value')}"
    return f"the API returned HTTP {status} without an error body"
