"""A real filesystem that fills up: a small tmpfs, mounted for a test (needs root, as in CI)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount_or_explain() -> str | None:
    """Why a tmpfs cannot be mounted here, or None when it can."""
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root (CI runs the tests as root)"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "mount/umount are not installed (Debian package mount)"
    return None


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "1m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``where`` (mode 0700) for the duration; unmount after.

    Outside CI a machine that cannot mount one skips the test saying why; under ``CI=true``
    the test fails instead.
    """
    why = _mount_or_explain()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the full-disk tests need a tmpfs: {why}")
        pytest.skip(why)
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True, timeout=30)
