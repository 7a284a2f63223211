"""Where session journals live and what they are called."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from cockpit.files import secure_directory

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


def default_sessions_dir() -> Path:
    """``$XDG_STATE_HOME/cockpit/sessions``, else ``~/.local/state/cockpit/sessions``.

    A relative ``XDG_STATE_HOME`` is ignored, as the XDG spec asks.
    """
    state_home = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state_home) if os.path.isabs(state_home) else Path.home() / ".local" / "state"
    return base / "cockpit" / "sessions"


def session_slug(name: str) -> str:
    """A file-name-safe form of a session name: lowercase letters, digits and dashes."""
    return _SLUG_JUNK.sub("-", name.lower()).strip("-")[:40].strip("-") or "session"


def new_session_path(sessions_dir: Path, name: str, wall: float) -> Path:
    """A fresh journal path such as ``20261122T104600Z-checkout-deploy-3f9a.jsonl``.

    Creates ``sessions_dir`` (and missing parents) with mode 0700, and refuses one that
    another user could write to or swap (see ``cockpit.files.secure_directory``). The file
    itself is created by ``Journal.open``.

    Raises:
        FileRefused: the sessions directory is not safe, or cannot be created.
    """
    secure_directory(sessions_dir)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall))
    slug = session_slug(name)
    while True:
        path = sessions_dir / f"{stamp}-{slug}-{secrets.token_hex(2)}.jsonl"
        # 65536 names per second and name: a clash is rare, and a retry picks another.
        if not os.path.lexists(path) and not os.path.lexists(path.with_suffix("")):
            return path


def session_directory(journal_path: Path, *, create: bool = True) -> Path:
    """The directory of a session's own files (step output, evidence), beside its journal.

    Checks that the sessions directory (the journal's) and this one are safe, and creates this
    one with mode 0700 when missing and ``create`` is set.

    Raises:
        FileRefused: either directory is unsafe (another user's, writable by others, a
            symbolic link), or missing when ``create`` is not set.
    """
    journal_path = Path(journal_path)
    secure_directory(journal_path.parent, create=False)
    directory = journal_path.with_suffix("")
    secure_directory(directory, create=create)
    return directory
