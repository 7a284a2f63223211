"""Helpers for tests of the demo service: run the CLI, poll with deadlines, send bursts, and
the demo profile as the tests run it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx
import tomli_w

from cockpit.demo.stack import ServiceProcess

T = TypeVar("T")

DEMO_PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "demo.toml"


def demo_profile_on_any_host(directory: Path) -> Path:
    """The demo profile, written into ``directory``, with capacity checks any host passes.

    The demo's capacity checks measure the whole machine (CPU below 60 % and stable, memory
    and disk below 60 %), so a test that needs every check GREEN would fail whenever other
    work loads the machine or fills its disk. Here they still run, through the real psutil,
    but any reading that is a number passes: these tests are about the deploy, not the host.
    """
    data = tomllib.loads(DEMO_PROFILE.read_text())
    capacity = [c for c in data["checks"] if c.get("purpose") == "capacity"]
    assert capacity, "the demo profile has no capacity checks any more: update this helper"
    for check in capacity:
        assert check["source"]["kind"] == "system", check
        check["threshold"] = {"between": [0, 100]}
        check["source"]["stable_within"] = 100
    path = directory / "demo-any-host.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def run_cockpit(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cockpit ARGS`` to completion and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def wait_until(
    probe: Callable[[], T | None], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Call ``probe`` until it returns something other than None (or False); return that.

    Raises:
        AssertionError: at the deadline, naming ``what`` was awaited.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or probe}")
        time.sleep(interval)


def client() -> httpx.Client:
    """An HTTP client for loopback: no proxies from the environment."""
    return httpx.Client(timeout=10.0, trust_env=False)


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    """GET ``url`` and decode its JSON object body."""
    with client() as http:
        response = http.get(url)
    doc = response.json()
    assert isinstance(doc, dict), doc
    return response.status_code, doc


def stats(url: str) -> dict[str, Any]:
    """The ``/stats`` document of the service at base ``url``."""
    code, doc = get_json(url + "/stats")
    assert code == 200
    return doc


def burst(url: str, count: int, *, concurrency: int = 16) -> list[int]:
    """Send ``count`` GET requests to ``url`` over ``concurrency`` threads; their status codes."""
    with client() as http, ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(lambda _: http.get(url).status_code, range(count)))


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


FAST_WARMUP_S = 0.3
"""The warm-up the tests give the service unless they test the warm-up itself."""


@contextlib.contextmanager
def running_service(
    state_dir: Path, *, wait_ready: bool = True, warmup: float | None = FAST_WARMUP_S
) -> Iterator[ServiceProcess]:
    """A demo service on a free port for the duration of the block; always stopped."""
    service = ServiceProcess(state_dir, warmup=warmup)
    try:
        service.start(timeout=15.0, wait_ready=wait_ready)
        yield service
    finally:
        service.stop()


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of ``directory`` with its content and mtime, to prove nothing changed."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
        if p.is_file() and p.suffix != ".log"
    }
