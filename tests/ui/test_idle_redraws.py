"""What the idle cockpit redraws each second: only what is in view and changed, and what was
left out comes back the moment it is in view (PERFORMANCE.md: refresh only what changed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.containers import VerticalScroll

from cockpit.ui import render
from cockpit.ui.screens.cockpit import CockpitScreen
from cockpit.ui.widgets.procedure import OperatorPane
from cockpit.ui.widgets.text import Label
from tests.support.ui import Showcase, record_check

pytestmark = pytest.mark.usefixtures("utc_timezone")


def shown(label: Label) -> str:
    return str(label.render())


async def test_a_check_out_of_view_is_redrawn_when_it_comes_into_view(tmp_path: Path) -> None:
    show = Showcase(tmp_path)
    async with show.app.run_test(size=(120, 40)) as pilot:
        await show.briefing(pilot)
        for check in show.session.profile.checks:
            if check.manual is None:
                record_check(show.session, show.clock, check.id, True, "exit 0: fine")
        await pilot.pause()
        screen = show.app.screen
        assert isinstance(screen, CockpitScreen)
        pane = screen.query_one(OperatorPane)
        procedure = pane.query_one("#procedure", VerticalScroll)
        parts = pane.checklist_parts
        view = procedure.content_region
        out_of_view = [n for n, label in enumerate(parts) if not label.region.overlaps(view)]
        assert out_of_view, "at 120x40 the briefing pushes checks below the fold"
        before = [shown(label) for label in parts]

        show.clock.advance(60.0)  # every check's age moves
        screen._tick()
        state, now = show.session.state, show.clock.wall()
        fresh = [part.plain for part in render.checklist(state, now)]
        assert fresh != before
        for n, label in enumerate(parts):
            # Out of view: not redrawn (Textual would arrange the whole screen for it).
            assert shown(label) == (before[n] if n in out_of_view else fresh[n])

        procedure.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert [shown(label) for label in parts] == fresh
        await show.session.close()


class Flood:
    """An output source that floods, then goes quiet."""

    path = Path("flood.out")

    def __init__(self, batches: int) -> None:
        self.batches = batches

    def read_lines(self) -> list[str]:
        if not self.batches:
            return []
        self.batches -= 1
        return [f"flood line {n}" for n in range(1000)]

    def catch_up(self, keep: int) -> int:
        return 0

    def flush_partial(self) -> list[str]:
        return []


async def test_memory_is_given_back_once_a_flood_of_output_is_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood's freed buffers go back to the system when the output goes quiet (see
    cockpit.heap), once per flood, not on every read."""
    released: list[bool] = []

    def release() -> bool:
        released.append(True)
        return True

    monkeypatch.setattr("cockpit.ui.screens.cockpit.release_free_memory", release)
    show = Showcase(tmp_path)
    async with show.app.run_test(size=(120, 40)):
        screen = show.app.screen
        assert isinstance(screen, CockpitScreen)
        screen._tail = Flood(batches=30)  # 30 reads of 1,000 lines, at most 8 a pass
        for _ in range(40):
            screen._read_output()
        assert released == [True]
        screen._tail = Flood(batches=1)  # a few lines more: not worth a pass over the heap
        for _ in range(5):
            screen._read_output()
        assert released == [True]
        await show.session.close()
