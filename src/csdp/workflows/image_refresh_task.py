"""Periodic refresh of images named by a Debian package version, run by beat on the ``scheduled`` queue.

Every ``CSDP_IMAGE_REFRESH_INTERVAL_SECONDS`` (a day by default), each service
whose manifest sets ``version_package`` is checked against Debian's mirror.
Its image is rebuilt when the mirror has a newer version (see csdp.runtime.image_refresh).
"""

from __future__ import annotations

import logging
from typing import Any

from csdp.catalog import load_catalog
from csdp.runtime.image_refresh import FAILED, refresh_images
from csdp.settings import get_settings
from csdp.workflows.app import app

log = logging.getLogger(__name__)


@app.task(name="csdp.workflows.image_refresh_task.refresh_version_images")
def refresh_version_images() -> list[dict[str, Any]]:
    """Refresh every service with a version_package and return one summary per service.

    A failing service is logged with its name and reported in the summary. The
    other services are still refreshed, so the task itself does not fail.
    """
    settings = get_settings()
    catalog = load_catalog(settings.services_path)
    log.info("image refresh started")
    results = refresh_images(catalog, settings)
    for result in results:
        # refresh_images has already logged each failure with its service name.
        if result.action != FAILED:
            log.info(
                "image refresh of service %s: %s (installed %s, candidate %s)",
                result.service, result.action, result.installed, result.candidate,
            )
    failed = sum(result.action == FAILED for result in results)
    log.info("image refresh finished: %d services checked, %d failed", len(results), failed)
    return [
        {
            "service": result.service,
            "action": result.action,
            "installed": result.installed,
            "candidate": result.candidate,
            "previous_tag": result.previous_tag,
            "new_tag": result.new_tag,
            "error": result.error,
        }
        for result in results
    ]
