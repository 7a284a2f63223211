"""A second OS user for tests of what another user can plant (the cockpit refuses it).

The user is a throw-away system account, ``cockpit-test-other``: no home, no login shell,
created on first use when the tests run as root (as CI does) and kept for the next run
(creating it is idempotent, and another test run may be using it at the same moment, so it
is never deleted). Not root: the test skips with what it needs, and under ``CI=true`` fails.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

NAME = "cockpit-test-other"
NEEDS = (
    "these tests act as a second OS user: run them as root (as CI does) so that the user"
    f" {NAME} can be created with useradd and used with runuser"
)


@dataclass(frozen=True)
class OtherUser:
    """The second user, and a directory both users can create things in."""

    name: str
    uid: int
    shared: Path
    """Mode 1777, like /tmp: each user can create entries, nobody can replace another's."""

    def run(self, script: str, *args: str | Path) -> None:
        """Run a ``/bin/sh`` script as this user (``$1``... are ``args``); it must succeed."""
        done = subprocess.run(
            ["runuser", "-u", self.name, "--", "/bin/sh", "-ec", script, "sh", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"as {self.name}: {script!r} failed: {done.stderr}"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def _ensure_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(NAME)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    nologin = shutil.which("nologin") or "/bin/false"
    # Exit status 9: it exists already (made by a test run alongside this one).
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", nologin, NAME],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return pwd.getpwnam(NAME)


@contextlib.contextmanager
def second_user() -> Iterator[OtherUser]:
    """The second user and a fresh shared directory, removed afterwards (use as a fixture)."""
    if os.geteuid() != 0:
        _unavailable(NEEDS)
    if shutil.which("runuser") is None:
        _unavailable(f"{NEEDS}; runuser (util-linux) is missing")
    try:
        entry = _ensure_user()
    except KeyError:
        _unavailable(f"{NEEDS}; useradd could not create {NAME}")
    # Under /tmp, not pytest's tmp_path: that one is 0700 and the other user could not reach it.
    base = Path(tempfile.mkdtemp(prefix="cockpit-other-user-"))
    try:
        base.chmod(0o755)
        shared = base / "shared"
        shared.mkdir()
        shared.chmod(0o1777)
        yield OtherUser(NAME, entry.pw_uid, shared)
    finally:
        shutil.rmtree(base, ignore_errors=True)
