"""Checks of the ``email`` field that requests a job result by e-mail."""

from __future__ import annotations

from csdp.errors import InvalidInput
from csdp.settings import Settings
from csdp.workflows.submit import check_email


def check_result_email(email: str | None, settings: Settings) -> str | None:
    """Return ``email`` if the server can send to it; None when no e-mail is requested.

    Raises InvalidInput naming ``email`` when the server has no SMTP server,
    because the worker would skip the message and the caller would never know.
    The address must also be one address without spaces or line breaks,
    which keeps it from adding mail headers.
    """
    if email is None or email == "":
        return None
    if not settings.smtp_host:
        raise InvalidInput(
            "email cannot be sent: this server has no SMTP server configured (CSDP_SMTP_HOST); "
            "leave email out, or ask the operator to set CSDP_SMTP_HOST",
            field="email",
        )
    return check_email(email)
