"""Real session journals for the replay tests: a showcase scene played on the real app."""

from __future__ import annotations

import asyncio
import copy
import shutil
from pathlib import Path

from cockpit.engine import State
from tests.support.ui import IncidentShowcase, Showcase, pin_timezone


async def play_scene(workdir: Path, scene: str, profile: Path | None = None) -> tuple[Path, State]:
    """Play a showcase scene (a deploy, or an incident) on the real app, headless, on the
    fake clock; return the journal it wrote and the live session's state at the end.

    ``profile``: a deploy scene's profile instead of the showcase's (the same metrics).
    """
    pin_timezone()
    if scene.startswith("incident"):
        show: Showcase = IncidentShowcase(workdir)
    else:
        show = Showcase(workdir) if profile is None else Showcase(workdir, profile)
    async with show.app.run_test(size=(120, 40)) as pilot:
        await show.player(scene)(pilot)  # ends with the session closed: samples flushed
    return show.session.journal_path, copy.deepcopy(show.session.state)


def recorded_journal(
    directory: Path, scene: str = "rolled-back", profile: Path | None = None
) -> tuple[Path, State]:
    """The journal of a showcase scene, copied with its anchors and session folder to
    ``<directory>/<scene>.jsonl``, and the live state when the scene ended."""
    target = directory / f"{scene}.jsonl"
    journal, state = asyncio.run(play_scene(directory / f"{scene}-play", scene, profile))
    for suffix in ("", ".anchors"):
        shutil.copy(f"{journal}{suffix}", f"{target}{suffix}")
    shutil.copytree(journal.with_suffix(""), target.with_suffix(""))
    return target, state


def change_a_byte(journal: Path, seq: int) -> None:
    """Change one byte inside record ``seq``'s body (a digit of its wall time), in place."""
    lines = journal.read_bytes().split(b"\n")
    line = lines[seq - 1]
    at = line.index(b'"wall":') + len(b'"wall":') + 3
    digit = line[at : at + 1]
    assert digit.isdigit(), line
    lines[seq - 1] = line[:at] + (b"1" if digit != b"1" else b"2") + line[at + 1 :]
    journal.write_bytes(b"\n".join(lines))
