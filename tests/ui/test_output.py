"""The step output pane under a flood: the newest line is always on screen."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from cockpit.clock import FakeClock
from cockpit.ui.app import make_app
from cockpit.ui.widgets.procedure import OperatorPane, OutputLog
from tests.support.ui import FAST_PROFILE, new_session

pytestmark = pytest.mark.usefixtures("utc_timezone")


async def test_a_full_log_keeps_showing_the_newest_lines(tmp_path: Path) -> None:
    clock = FakeClock()
    session = new_session(FAST_PROFILE, tmp_path, clock, {"COCKPIT_UI_DIR": str(tmp_path)})
    app = make_app(session, clock=clock, run_loops=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.screen.query_one(OperatorPane)
        log = app.screen.query_one("#output", OutputLog)
        log.display = True
        assert log.max_lines is not None
        for start in range(0, 3 * log.max_lines, 500):  # batches, as the output pump writes
            pane.write_output([f"line {n}" for n in range(start, start + 500)])
            await pilot.pause()
        last = 3 * log.max_lines - 1
        assert log.line_count == log.max_lines
        screen = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        assert f"line {last}" in screen
        await session.close()
