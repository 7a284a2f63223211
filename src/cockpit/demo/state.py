"""The demo state directory: which version runs, which one to roll back to, where it listens.

Files (all small text files, each replaced atomically):

- ``current``: the version the service must run (``v1`` or ``v2``).
- ``previous``: the rollback target, the version that ran before the last deploy.
- ``service.pid`` / ``service.port``: written by the running service.
- ``smoke-passed``: written by ``demo-ctl smoke`` on success; its mtime is the evidence.
- ``service.lock``: held (``flock``) by the running service for its lifetime.
- ``ctl.lock``: held by ``demo-ctl`` while it changes ``current``/``previous``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

VERSIONS: tuple[str, ...] = ("v1", "v2")
"""The versions the demo service knows."""

DEFAULT_VERSION = "v1"

CURRENT = "current"
PREVIOUS = "previous"
PID_FILE = "service.pid"
PORT_FILE = "service.port"
SMOKE_FILE = "smoke-passed"
SERVICE_LOCK = "service.lock"
CTL_LOCK = "ctl.lock"


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new content, never half.

    Write a temporary file in the same directory, fsync it, rename it over the target and
    fsync the directory so that the rename itself survives a crash.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_text(path: Path) -> str | None:
    """The stripped content of ``path``, or None when it does not exist or cannot be read."""
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def read_version(path: Path) -> str | None:
    """The version recorded in ``path``, or None when missing or not a known version."""
    text = read_text(path)
    return text if text in VERSIONS else None


def read_int(path: Path) -> int | None:
    """The integer recorded in ``path``, or None when missing or malformed."""
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = 0.0) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` for the block; yields whether it was acquired.

    Args:
        path: the lock file (created if missing).
        timeout: how long to keep trying; 0 tries once.

    The lock goes away with the process, so a crash never leaves a stale lock behind.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        yield True
    finally:
        os.close(fd)
