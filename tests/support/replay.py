"""Real session journals for the replay tests: a showcase scene played on the real app."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from tests.support.ui import IncidentShowcase, Showcase, pin_timezone


async def play_scene(workdir: Path, scene: str) -> Path:
    """Play a showcase scene (a deploy, or an incident) on the real app, headless, on the
    fake clock; return the journal it wrote."""
    pin_timezone()
    show = IncidentShowcase(workdir) if scene.startswith("incident") else Showcase(workdir)
    async with show.app.run_test(size=(120, 40)) as pilot:
        await show.player(scene)(pilot)
    return show.session.journal_path


def recorded_journal(directory: Path, scene: str = "rolled-back") -> Path:
    """The journal of a showcase scene, written once per ``directory`` (a module's tmp dir)
    and copied beside its session folder: ``<directory>/<scene>.jsonl``."""
    target = directory / f"{scene}.jsonl"
    if not target.exists():
        journal = asyncio.run(play_scene(directory / f"{scene}-play", scene))
        for suffix in ("", ".anchors"):
            shutil.copy(f"{journal}{suffix}", f"{target}{suffix}")
        shutil.copytree(journal.with_suffix(""), target.with_suffix(""))
    return target
