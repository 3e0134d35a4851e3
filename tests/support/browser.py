"""A real headless Chromium for tests, driven by Selenium through Debian's chromedriver.

A fresh profile per browser, nothing fetched from the network (no sync, no component
updates, no QUIC), and the driver quit and the process reaped even when a test fails.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


class BrowserUnavailable(RuntimeError):
    pass


@contextmanager
def chromium(profile_dir: Path, width: int, height: int) -> Iterator[object]:
    """A Selenium WebDriver for a Chromium window of width × height CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMEDRIVER, CHROMIUM):
        if not Path(binary).exists() and shutil.which(Path(binary).name) is None:
            raise BrowserUnavailable(f"{binary} is missing: apt-get install chromium chromium-driver "
                                     "(scripts/test.sh installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile_dir.mkdir(parents=True, exist_ok=True)
    options.add_argument(f"--user-data-dir={profile_dir}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        viewport(driver, width, height)
        yield driver
    finally:
        driver.quit()


def viewport(driver: object, width: int, height: int) -> None:
    """Make the page's viewport width × height (what a phone has), whatever the window adds."""
    driver.set_window_size(width, height)  # type: ignore[attr-defined]
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")  # type: ignore[attr-defined]
    driver.set_window_size(2 * width - inner[0], 2 * height - inner[1])  # type: ignore[attr-defined]
