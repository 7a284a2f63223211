"""At the supported maximum (metrics, checks, steps) the screen stays usable: GO happens, the
Monitor's task and the stop-point verdict stay in view at 120x40 and at 80x24, and a metric
that fails is shown even when the rows do not all fit."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
import tomli_w
from textual.widget import Widget

from cockpit.clock import FakeClock
from cockpit.profile.models import MAX_CHECKS, MAX_METRICS, MAX_STEPS
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.widgets.metrics import MonitorPane, dom_id
from tests.support.pilot import PROCESS_DEADLINE, Crew, phase, running
from tests.support.ui import (
    FAST_PROFILE,
    WALL,
    clock_shown,
    new_session,
    read_back,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("utc_timezone")

LAST = f"m-{MAX_METRICS - 1:03d}"
HEALTHY = {f"m-{i:03d}": 0.3 for i in range(MAX_METRICS)}


def largest_crew(tmp_path: Path) -> Crew:
    """The fast profile grown to the maximum; every step's stop point watches every metric."""
    workdir = tmp_path / "ui"
    workdir.mkdir()
    smoke = workdir / "smoke-passed"
    smoke.touch()
    os.utime(smoke, (WALL - 60, WALL - 60))
    data = tomllib.loads(FAST_PROFILE.read_text())
    metric = data["metrics"][0]
    data["metrics"] = [
        dict(metric, id=f"m-{i:03d}", title=f"Error rate {i:03d}") for i in range(MAX_METRICS)
    ]
    extra = MAX_CHECKS - len(data["checks"])
    data["checks"] += [
        {
            "id": f"c-{i:03d}",
            "title": f"Check {i:03d}",
            "source": {"kind": "command", "command": ["true"]},
        }
        for i in range(extra)
    ]
    ids = [m["id"] for m in data["metrics"]]
    data["stages"][0]["steps"] = [
        {
            "id": f"s-{i:03d}",
            "title": f"Step {i:03d}",
            "command": ["echo", "done"],
            "stop_point": ids,
        }
        for i in range(MAX_STEPS)
    ]
    data["rollback"]["verify"] = {"metrics": ids[:3], "within": "45s"}
    path = tmp_path / "largest.toml"
    path.write_text(tomli_w.dumps(data))
    clock = FakeClock(WALL)
    session = new_session(path, tmp_path, clock, {"COCKPIT_UI_DIR": str(workdir)})
    return Crew(session, clock, make_app(session, clock=clock, run_loops=False), workdir)


def in_view(app: CockpitApp, selector: str) -> bool:
    """Whether every line the widget shows lies inside the Monitor pane (a blank line at its
    end may be cut off)."""
    widget = app.screen.query_one(selector, Widget)
    pane = app.screen.query_one(MonitorPane).content_region
    lines = str(widget.render()).rstrip("\n").count("\n") + 1
    return widget.display and pane.y <= widget.region.y and widget.region.y + lines <= pane.bottom


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_the_largest_profile_stays_usable(tmp_path: Path, size: tuple[int, int]) -> None:
    crew = largest_crew(tmp_path)
    async with running(crew, size) as pilot:
        await read_back(pilot)
        await crew.session.run_checks()
        await pilot.press("c", "k")
        assert crew.session.state.checks_green() == []
        crew.feed(HEALTHY)
        await pilot.pause()
        await pilot.press("g", "m")
        assert phase(crew).value == "EXECUTING", text_of(crew.app, "#notice")
        await wait_until(pilot, lambda: clock_shown(crew.app), "the 1 s refresh")
        assert "VERIFY the command of step 1" in text_of(crew.app, "#monitor-task")
        assert in_view(crew.app, "#monitor-task")
        assert in_view(crew.app, "#metrics-hidden")
        assert "more metrics (all ✔ PASS)" in text_of(crew.app, "#metrics-hidden")

        await pilot.press("v", "x")
        step = crew.session.state.steps[0]
        await wait_until(pilot, lambda: step.finished is not None, "step 1", PROCESS_DEADLINE)
        crew.feed({**HEALTHY, LAST: 9.0})  # the last metric, the one cut off first, fails
        await wait_until(pilot, lambda: clock_shown(crew.app), "the 1 s refresh")
        assert in_view(crew.app, "#verdict")
        assert "STOP POINT after s-000" in text_of(crew.app, "#verdict")
        assert in_view(crew.app, f"#{dom_id(LAST)}")
        assert "FAIL" in str(crew.app.screen.query_one(f"#{dom_id(LAST)}").render())
        assert "more metrics (all ✔ PASS)" in text_of(crew.app, "#metrics-hidden")
