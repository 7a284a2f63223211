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
