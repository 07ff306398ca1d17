"""Headless Chromium for the console's browser test and screenshots: Debian's chromium and chromium-driver.

Selenium gets both paths, so Selenium Manager never looks for (or downloads) a browser or a driver.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
APT_PACKAGES = ("chromium", "chromium-driver")


def missing() -> list[str]:
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


def chromium(width: int = 1440, height: int = 1000) -> WebDriver:
    absent = missing()
    if absent:
        raise RuntimeError(
            f"{' and '.join(absent)} not found: the console's browser test needs Debian's "
            f"{' and '.join(APT_PACKAGES)} (apt-get install -y {' '.join(APT_PACKAGES)})"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        f"--window-size={width},{height}",
        "--lang=en-US",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


def wait_for(condition: Callable[[], object], timeout: float = 30.0, what: str = "the page") -> object:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (StaleElementReferenceException, NoSuchElementException):
            value = None  # the page is being replaced (a click's navigation): look again
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def log_in(driver: WebDriver, base_url: str, user: str, password: str) -> None:
    driver.get(base_url + "/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login").click()
    wait_for(lambda: driver.find_elements(By.ID, "whoami"), what=f"{user} logged in")


def log_out(driver: WebDriver) -> None:
    driver.find_element(By.CSS_SELECTOR, "form.who button").click()
    wait_for(lambda: driver.find_elements(By.ID, "username"), what="the login page")
