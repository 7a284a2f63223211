"""Render every phase of the real cockpit into screenshots/ (``make screenshots``).

The scenes are the snapshot tests' (tests/support/ui.py): the real app and session on a
fake clock, keys pressed with the Pilot, a fake process starter with fixed pids. Writes SVG,
and a PNG next to each when ``rsvg-convert`` or ``cairosvg`` is available.
"""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.ui import (  # noqa: E402
    INCIDENT_SCENES,
    SCENES,
    IncidentShowcase,
    Showcase,
    pin_timezone,
)

OUT = ROOT / "screenshots"
NARROW = ("stop-point-red", "rolling-back", "incident")
"""Scenes also rendered at 80x24."""


async def render(scene: str, size: tuple[int, int], path: Path) -> None:
    """Play ``scene`` on the real app at ``size`` and save it as SVG."""
    with tempfile.TemporaryDirectory(prefix="cockpit-screenshots-") as workdir:
        show = (
            IncidentShowcase(Path(workdir)) if scene in INCIDENT_SCENES else Showcase(Path(workdir))
        )
        async with show.app.run_test(size=size) as pilot:
            await show.player(scene)(pilot)
            await pilot.pause()
            show.app.save_screenshot(path.name, path=str(path.parent))
            show.processes.abandon()
            await pilot.pause()


def to_png(svg: Path) -> bool:
    """Write a PNG beside ``svg``; False when no converter is installed."""
    png = svg.with_suffix(".png")
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", str(svg), "-o", str(png)], check=True)
        return True
    if importlib.util.find_spec("cairosvg") is not None:
        import cairosvg  # type: ignore[import-not-found,unused-ignore]

        cairosvg.svg2png(url=str(svg), write_to=str(png))
        return True
    return False


async def main() -> int:
    pin_timezone()
    OUT.mkdir(exist_ok=True)
    jobs: list[tuple[str, tuple[int, int], Path]] = []
    for number, scene in enumerate((*SCENES, *INCIDENT_SCENES), start=1):
        jobs.append((scene, (120, 40), OUT / f"{number:02d}-{scene}.svg"))
        if scene in NARROW:
            jobs.append((scene, (80, 24), OUT / f"{number:02d}-{scene}-80x24.svg"))
    png = True
    for scene, size, path in jobs:
        await render(scene, size, path)
        png = to_png(path) and png
        print(f"{path.relative_to(ROOT)}  ({size[0]}x{size[1]})")
    if not png:
        print("SVG only: install rsvg-convert (Debian: librsvg2-bin) or cairosvg for PNGs")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
