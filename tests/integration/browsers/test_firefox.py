"""The firefox service: without an operator-supplied geckodriver its image build stops early and names the missing file."""

from __future__ import annotations

import pytest

from csdp.errors import ImageBuildError
from csdp.runtime.images import build_service_images
from csdp.settings import get_settings

pytestmark = pytest.mark.integration


def test_missing_geckodriver(catalog):
    if (catalog.get("firefox").folder / "geckodriver").exists():
        pytest.skip("a geckodriver binary was supplied, so the image builds")

    with pytest.raises(ImageBuildError) as caught:
        build_service_images(catalog, get_settings(), names=["firefox"])

    error = caught.value
    assert error.details["service"] == "firefox"
    assert error.details["step"].startswith("Step 4/")
    assert "src/csdp/services/firefox/geckodriver is missing" in str(error)
    assert "GECKODRIVER.txt" in str(error)
