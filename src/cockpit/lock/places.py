"""Where the host's cockpit directory is, and where a profile's locks live."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

RUNTIME_VARIABLE = "COCKPIT_RUNTIME_DIR"
"""Names the host's cockpit directory (tests, hosts that keep it elsewhere)."""
HOST_DIRECTORY = Path("/run/cockpit")
"""The host's cockpit directory when root made it (``install -d -m 1777 /run/cockpit``)."""


def host_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    """The directory every user of this host shares for cockpit: ``$COCKPIT_RUNTIME_DIR``,
    else ``/run/cockpit`` when it exists, else None (each user keeps their own)."""
    env = os.environ if environ is None else environ
    given = env.get(RUNTIME_VARIABLE, "")
    if given and os.path.isabs(given):
        return Path(given)
    if HOST_DIRECTORY.is_dir():
        return HOST_DIRECTORY
    return None


def lock_directory(
    configured: str | None, sessions_dir: Path, environ: Mapping[str, str] | None = None
) -> tuple[Path, bool]:
    """The lock files' directory and whether it is shared by several users.

    The profile's ``[lock] directory`` first, then the host's cockpit directory (so two
    crews of different users on this host see each other's locks), else ``locks`` in the
    sessions directory (this user's sessions only).
    """
    if configured:
        return Path(configured), True
    host = host_directory(environ)
    if host is not None:
        return host, True
    return sessions_dir / "locks", False
