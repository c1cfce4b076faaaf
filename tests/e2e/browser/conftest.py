"""One real Chromium for the browser tests (Debian's chromium, driven through chromium-driver), on the platform the
e2e session runs. Screenshots go to a temp dir, or to STINT_SCREENSHOTS_DIR (make screenshots: docs/screenshots)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.browser import Browser, axe_source, missing_tools, start_chromium


@pytest.fixture(scope="session")
def browser(platform, tmp_path_factory):
    """The session's browser on the running web; skips, saying why, when chromium or chromedriver is missing."""
    why = missing_tools()
    if why:
        pytest.skip(why)
    screenshots = Path(os.environ.get("STINT_SCREENSHOTS_DIR") or tmp_path_factory.mktemp("screenshots"))
    screenshots.mkdir(parents=True, exist_ok=True)
    axe, axe_missing = axe_source()
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield Browser(driver, platform.web_url, screenshots, axe, axe_missing)
    finally:
        driver.quit()
