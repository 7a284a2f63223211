"""The demo profile as one ``cockpit demo`` runs it: its own lock, and maybe a crew.

Each demo starts a service of its own, so its deploy lock lives in its own state directory:
a demo that ends rolled back (as the demo does) keeps its lock, shown on screen, without
stopping the next demo. With ``--monitor`` the demo runs by identity: this user is the
Operator and the Monitor joins from their own terminal with ``cockpit attach``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w


def demo_variant(
    profile: Path,
    state_dir: Path,
    *,
    operator: str,
    monitor: str | None = None,
    observers: list[str] | None = None,
) -> Path:
    """Write the demo's profile for this run into ``state_dir``; return its path."""
    data = tomllib.loads(profile.read_text(encoding="utf-8"))
    locks = state_dir / "locks"
    locks.mkdir(mode=0o700, exist_ok=True)
    data["lock"] = {**data.get("lock", {}), "directory": str(locks)}
    if monitor or observers:
        crew: dict[str, object] = {"operator": operator, "observers": list(observers or [])}
        if monitor:
            crew["monitor"] = monitor
        else:
            crew["single_operator"] = True
        data["crew"] = crew
    path = state_dir / f"{profile.stem}-run.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path
