"""Helpers for tests that start real processes: poll with a deadline, find what is left."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from cockpit.runner.proctree import is_alive


async def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    """Poll a real condition until it holds or the deadline passes (never sleep-and-hope)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def kill_recorded(pidfile: Path) -> None:
    """Whatever the outcome, leave no test process behind (they ignore SIGTERM)."""
    if pidfile.exists():
        for line in pidfile.read_text().split():
            if line.isdigit() and is_alive(int(line)):
                os.kill(int(line), signal.SIGKILL)


def my_children() -> set[int]:
    """Children of this process (zombies included) from /proc."""
    me = str(os.getpid())
    found = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_bytes()
            except OSError:
                continue
            if stat[stat.rfind(b")") + 2 :].split()[1].decode() == me:
                found.add(int(name))
    return found
