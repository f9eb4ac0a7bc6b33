"""The REST API: FastAPI app, auth, routes and the error handler."""

from csdp.api.app import create_app

__all__ = ["create_app"]
