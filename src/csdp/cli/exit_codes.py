"""Exit codes of ``csdp``, which scripts rely on; ``csdp --help`` documents them."""

from __future__ import annotations

from csdp import errors
from csdp.client.errors import JobFailed

OK = 0
JOB_FAILED = 1
USAGE = 2
NOT_FOUND = 3
AUTH = 4
UNREACHABLE = 5
TIMEOUT = 6

DESCRIPTION = """\
exit codes:
  0  success
  1  the job failed, an image build failed, or an action exited non-zero in a container
  2  usage error or input the API rejected
  3  service, container, job or path not found
  4  missing or rejected token, or not allowed
  5  API or broker unreachable, or the API failed
  6  timed out (waiting for a job or for the API)
  csdp SERVICE exec exits with the command's own exit code; use --json to tell them apart"""


def exit_code_for(exc: errors.CsdpError) -> int:
    """Return the exit code of a csdp error."""
    if isinstance(exc, JobFailed):
        return JOB_FAILED
    if isinstance(exc, errors.NotFound):
        return NOT_FOUND
    if isinstance(exc, (errors.Unauthorized, errors.Forbidden)):
        return AUTH
    if isinstance(exc, errors.OperationTimeout):
        return TIMEOUT
    if isinstance(
        exc, (errors.InvalidInput, errors.BadRequest, errors.Conflict, errors.LimitExceeded, errors.PayloadTooLarge)
    ):
        return USAGE
    return UNREACHABLE
