"""The FastAPI application, versioned under ``/api/v1``.

Swagger UI is served from the static folder of the ``fastapi-offline``
package, so the docs page loads nothing from the internet.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from csdp.api.body_limit import BodyLimitMiddleware
from csdp.api.errors import install_error_handlers
from csdp.api.metrics import add_metrics
from csdp.api.routes import actions, admin, containers, exec, files, health, jobs, logs, services, schedules
from csdp.wire import ErrorBody

API_PREFIX = "/api/v1"
DOCS_URL = f"{API_PREFIX}/docs"
OPENAPI_URL = f"{API_PREFIX}/openapi.json"
STATIC_URL = f"{API_PREFIX}/static/docs"
SWAGGER_UI_FILES = Path(fastapi_offline.__file__).resolve().parent / "static"

# Error responses every route may return, each with an ErrorBody.
ERROR_RESPONSES = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "Missing or invalid bearer token."),
        (404, "The service, container, job or path does not exist, or is not the caller's."),
        (422, "A request value is invalid; the message names the field and what is allowed."),
        (429, "A limit would be passed; the message names the limit and the current value."),
        (503, "The container engine, the broker or Redis is unavailable."),
    )
}


def _add_docs(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=SWAGGER_UI_FILES), name="swagger-ui-files")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{OPENAPI_URL}",
            title="csdp API",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            # No validator badge: it would fetch from validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse(DOCS_URL)


def create_app() -> FastAPI:
    """Build the application with every route, the error handlers, the offline docs and ``/metrics``."""
    from csdp.logging_setup import configure_from_settings
    from csdp.settings import get_settings

    configure_from_settings(get_settings())
    app = FastAPI(
        title="csdp",
        version=metadata.version("csdp"),
        description="Disposable test services (syslog, snmptrapd, webhook, ...) as containers with their own addresses.",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=get_settings().max_request_bytes)

    api = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for module in (health, services, actions, containers, logs, files, exec, jobs, schedules, admin):
        api.include_router(module.router)
    app.include_router(api)
    add_metrics(app)
    _add_docs(app)
    return app
