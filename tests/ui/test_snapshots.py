"""SVG snapshots of every phase of the real app, at 120x40 and 80x24 (the main ones at 200x50
too), and once without colour.

Each scene is played on the real screen by :class:`tests.support.ui.Showcase` (keys pressed
with the Pilot, samples fed on a fake clock, a fake process starter with fixed pids), so the
pictures are the same on every run. Update them with
``pytest --snapshot-update tests/ui/test_snapshots.py`` and look at the diff before committing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from cockpit.ui.screens.dialogs import TypeToConfirmDialog
from tests.support.ui import INCIDENT_SCENES, SCENES, IncidentShowcase, Showcase, wait_until

pytestmark = pytest.mark.usefixtures("utc_timezone")

SnapCompare = Callable[..., bool]


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("scene", SCENES)
def test_phase(
    scene: str, size: tuple[int, int], snap_compare: SnapCompare, tmp_path: Path
) -> None:
    show = Showcase(tmp_path)
    assert snap_compare(show.app, terminal_size=size, run_before=show.player(scene))


@pytest.mark.parametrize("scene", ["briefing", "stop-point-red", "rolled-back"])
def test_phase_at_200x50(scene: str, snap_compare: SnapCompare, tmp_path: Path) -> None:
    """A big screen: the panes side by side only from 220 columns; here stacked, each whole."""
    show = Showcase(tmp_path)
    assert snap_compare(show.app, terminal_size=(200, 50), run_before=show.player(scene))


def test_no_color_stop_point_red(
    snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR: the RED stop point and the advice still read in symbols and words."""
    monkeypatch.setenv("NO_COLOR", "1")
    show = Showcase(tmp_path)
    assert show.app.no_color
    assert snap_compare(show.app, terminal_size=(80, 24), run_before=show.player("stop-point-red"))


def test_type_to_confirm_readback(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """The Monitor's readback question at 80x24, half answered: the question, the field, and
    that Escape cancels and ctrl+r still rolls back."""
    show = Showcase(tmp_path)

    async def play(pilot: Pilot[None]) -> None:
        await show.player("briefing")(pilot)
        await pilot.press("t")
        await wait_until(
            pilot, lambda: isinstance(show.app.screen, TypeToConfirmDialog), "the question"
        )
        show.app.screen.query_one(Input).cursor_blink = False
        await pilot.press(*"5 mi")

    assert snap_compare(show.app, terminal_size=(80, 24), run_before=play)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("scene", INCIDENT_SCENES)
def test_incident(
    scene: str, size: tuple[int, int], snap_compare: SnapCompare, tmp_path: Path
) -> None:
    """An incident: declared with the history and its baseline; then R, verified, mitigated."""
    show = IncidentShowcase(tmp_path)
    assert snap_compare(show.app, terminal_size=size, run_before=show.player(scene))


def test_no_color_incident(
    snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR: the history stays apart from the live samples by its bar, R by its words."""
    monkeypatch.setenv("NO_COLOR", "1")
    show = IncidentShowcase(tmp_path)
    assert show.app.no_color
    assert snap_compare(show.app, terminal_size=(80, 24), run_before=show.player("incident"))
