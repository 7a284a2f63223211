"""Where session journals live and what they are called."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from cockpit.journal.writer import fsync_directory

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def default_sessions_dir() -> Path:
    """``$XDG_STATE_HOME/cockpit/sessions``, else ``~/.local/state/cockpit/sessions``.

    A relative ``XDG_STATE_HOME`` is ignored, as the XDG spec asks.
    """
    state_home = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state_home) if os.path.isabs(state_home) else Path.home() / ".local" / "state"
    return base / "cockpit" / "sessions"


def _make_private_dirs(directory: Path) -> None:
    missing: list[Path] = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for new_dir in reversed(missing):
        try:
            os.mkdir(new_dir, 0o700)
        except FileExistsError:
            continue
        os.chmod(new_dir, 0o700)  # exactly 0700, whatever the umask took away
        fsync_directory(new_dir.parent)


def session_slug(name: str) -> str:
    """A file-name-safe form of a session name: lowercase letters, digits and dashes."""
    return _SLUG_JUNK.sub("-", name.lower()).strip("-")[:40].strip("-") or "session"


def new_session_path(sessions_dir: Path, name: str, wall: float) -> Path:
    """A fresh journal path such as ``20261122T104600Z-checkout-deploy-3f9a.jsonl``.

    Creates ``sessions_dir`` (and missing parents) with mode 0700. The file itself is created
    by ``Journal.open``.
    """
    _make_private_dirs(sessions_dir)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall))
    slug = session_slug(name)
    while True:
        path = sessions_dir / f"{stamp}-{slug}-{secrets.token_hex(2)}.jsonl"
        # 65536 names per second and name: a clash is rare, and a retry picks another.
        if not path.exists():
            return path
