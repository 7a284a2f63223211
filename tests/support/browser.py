"""Headless Chromium for the browser tests, driven over the W3C WebDriver protocol.

Debian's ``chromium`` and ``chromium-driver`` are installed with apt-get when missing and the
tests run as root (as CI does); otherwise the tests skip saying what to install, and under
``CI=true`` they fail instead. The protocol is a handful of JSON requests, spoken here with
httpx (already a dependency), so no driver library is needed.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Without the network-quietening flags Chromium keeps trying hosts this closed network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,800",
]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _installed() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def ensure_chromium() -> None:
    """Chromium and ChromeDriver are there (installed with apt-get when missing and root)."""
    if not _installed() and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "chromium", "chromium-driver"],
        ):
            subprocess.run(argv, env=env, capture_output=True, timeout=900, check=False)
    if not _installed():
        _unavailable("the browser test needs apt-get install chromium chromium-driver")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Browser:
    """One headless Chromium session."""

    def __init__(self, driver: str, session: str) -> None:
        self.base = f"{driver}/session/{session}"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.base}{path}", json=body, timeout=60)
        answer = response.json()
        if response.status_code != 200:
            raise AssertionError(f"WebDriver {method} {path}: {answer}")
        return answer["value"]

    def open(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    def run(self, script: str) -> Any:
        """Run JavaScript in the page; return its result."""
        return self._call("POST", "/execute/sync", {"script": script, "args": []})

    def text(self, element_id: str) -> str:
        found = self.run(
            f"const e = document.getElementById({element_id!r}); return e ? e.textContent : null"
        )
        return "" if found is None else str(found)

    def wait_text(self, element_id: str, predicate: Any, *, timeout: float, what: str) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text(element_id)
            if predicate(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not in #{element_id} after {timeout:.0f} s: {what}; it shows {text!r}"
                )
            time.sleep(0.05)

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self._call("GET", "/screenshot")))


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium behind its driver; both stopped afterwards."""
    ensure_chromium()
    port = _free_port()
    profile = Path(tempfile.mkdtemp(prefix="cockpit-chromium-"))
    log = (profile / "chromedriver.log").open("wb")
    driver = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}"], stdout=log, stderr=log, stdin=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    session = None
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/status", timeout=5).json()["value"]["ready"]:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("chromedriver did not start")
            time.sleep(0.05)
        options = {"binary": CHROMIUM, "args": [*FLAGS, f"--user-data-dir={profile / 'data'}"]}
        created = httpx.post(
            f"{url}/session",
            json={"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}},
            timeout=120,
        ).json()["value"]
        session = created["sessionId"]
        yield Browser(url, session)
    finally:
        if session is not None:
            with contextlib.suppress(httpx.HTTPError):
                httpx.delete(f"{url}/session/{session}", timeout=30)
        driver.terminate()
        try:
            driver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver.kill()
            driver.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
