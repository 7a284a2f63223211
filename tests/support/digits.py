"""Read the cockpit's big T+ timer (Textual's ``Digits``, three rows of box drawing) off a
terminal screen, by drawing candidate times with the same renderer and finding them."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Console
from textual.renderables.digits import Digits

from cockpit.durations import format_clock


def drawn(text: str) -> list[str]:
    """``text`` as ``Digits`` draws it, one string per row."""
    console = Console(width=200, color_system=None, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(Digits(text, style="bold"))  # the timer is bold (cockpit.tcss)
    return [line.rstrip() for line in console.export_text().splitlines()[:3]]


def t_plus_shown(screen: str, candidates: Iterable[float]) -> float | None:
    """Which of ``candidates`` (seconds since T0) the top bar's timer shows, if any."""
    rows = screen.splitlines()[1:4]
    for seconds in candidates:
        if seconds < 0:
            continue  # drawn as +00:00 too
        lines = drawn("+" + format_clock(seconds))
        if all(
            line.strip() and line.strip() in row for line, row in zip(lines, rows, strict=False)
        ):
            return seconds
    return None
