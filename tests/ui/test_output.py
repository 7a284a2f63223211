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


async def test_a_batch_widens_the_log_at_once_and_keeps_no_copies(tmp_path: Path) -> None:
    """The width of new lines is measured in the write (not in a thread worker per batch),
    and rich's process-wide cache of measured strings does not keep the batch alive."""
    from rich.cells import cached_cell_len

    clock = FakeClock()
    session = new_session(FAST_PROFILE, tmp_path, clock, {"COCKPIT_UI_DIR": str(tmp_path)})
    app = make_app(session, clock=clock, run_loops=False)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.screen.query_one(OperatorPane)
        log = app.screen.query_one("#output", OutputLog)
        log.display = True
        await pilot.pause()
        workers = len(app.workers)
        cached = cached_cell_len.cache_info().currsize
        batch = [f"unique line {n:06d} " + "x" * (n % 150) for n in range(1000)]
        batch.append("wide: 日本語 " + "y" * 200)  # not ASCII: measured in cells
        pane.write_output(batch)
        assert log.virtual_size.width == len("wide: ") + 6 + 1 + 200
        assert len(app.workers) == workers
        assert cached_cell_len.cache_info().currsize <= cached + 10
        await session.close()
