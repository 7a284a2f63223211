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


def _ensure_user(name: str = NAME) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    nologin = shutil.which("nologin") or "/bin/false"
    # Exit status 9: it exists already (made by a test run alongside this one).
    subprocess.run(
        [useradd, "--system", "--no-create-home", "--shell", nologin, name],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return pwd.getpwnam(name)


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


# ---------------------------------------------------------------- a crew of OS users

CREW = ("cockpit-test-ada", "cockpit-test-grace", "cockpit-test-eve")
"""The Operator, the Monitor, and a third user the profile does not name."""


@dataclass(frozen=True)
class Crew:
    """Three OS users, a directory they share, and how to run ``cockpit`` as each."""

    operator: OtherUser
    monitor: OtherUser
    stranger: OtherUser
    base: Path
    """Mode 0755: every user reaches what is in it."""
    python: str
    """An interpreter every user may run, of this one's version."""
    env: dict[str, str]
    """PYTHONPATH (this checkout and its packages) and PATH (a ``cockpit`` every user runs)."""

    def argv(self, user: OtherUser, *args: str) -> list[str]:
        """``cockpit ARGS`` as ``user`` (its environment is ``env`` plus what the caller adds)."""
        return ["runuser", "-u", user.name, "--", self.python, "-m", "cockpit", *args]


def _python_for_everyone() -> str | None:
    """This interpreter if every user may run it, else a system one of the same version (the
    compiled packages are built for that version), else None."""
    import sys

    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/python{version}", "/usr/bin/python3"):
        done = subprocess.run(
            ["runuser", "-u", NAME, "--", candidate, "-c", "import sys; print(sys.version)"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0 and done.stdout.startswith(version + "."):
            return candidate
    return None


@contextlib.contextmanager
def crew_of_users() -> Iterator[Crew]:
    """Three OS users (created when missing), a shared directory, an interpreter they run."""
    import site
    import sys

    if os.geteuid() != 0:
        _unavailable(NEEDS)
    if shutil.which("runuser") is None:
        _unavailable(f"{NEEDS}; runuser (util-linux) is missing")
    try:
        users = [_ensure_user(name) for name in (NAME, *CREW)][1:]
    except KeyError:
        _unavailable(f"{NEEDS}; useradd could not create {', '.join(CREW)}")
    python = _python_for_everyone()
    if python is None:
        _unavailable(
            f"no Python {sys.version_info.major}.{sys.version_info.minor} that other users may"
            f" run ({sys.executable} is not theirs to run): install python3 from the system"
        )
    src = Path(__file__).resolve().parents[2] / "src"
    base = Path(tempfile.mkdtemp(prefix="ck-"))  # short: a socket path has at most 107 bytes
    try:
        base.chmod(0o755)
        bin_dir = base / "bin"
        bin_dir.mkdir(mode=0o755)
        # The profiles run `cockpit ...` from PATH: one every user may run.
        wrapper = bin_dir / "cockpit"
        wrapper.write_text(f'#!/bin/sh\nexec {python} -m cockpit "$@"\n')
        wrapper.chmod(0o755)
        paths = [str(src), *site.getsitepackages()]
        env = {
            "PYTHONPATH": os.pathsep.join(paths),
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        ada, grace, eve = (OtherUser(u.pw_name, u.pw_uid, base) for u in users)
        yield Crew(ada, grace, eve, base, python, env)
    finally:
        shutil.rmtree(base, ignore_errors=True)
