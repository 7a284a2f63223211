"""The Pilot layer's crew: a session of the fast profile on a fake clock, the app around it,
and the moves every path starts with (readback, checks, GO, running a step).

The profile (tests/data/ui/fast.toml) runs real, quick local commands; the metrics are fed
by the tests on a fake clock (``run_loops=False`` starts no probes), so timers are exact.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from textual.pilot import Pilot

from cockpit.clock import FakeClock
from cockpit.engine import Phase, StepStatus
from cockpit.session import Session
from cockpit.ui.app import CockpitApp, make_app
from tests.support.ui import (
    FAST_PROFILE,
    WALL,
    feed,
    new_session,
    read_back,
    text_of,
    wait_until,
)

HEALTHY = {"error-rate": 0.3, "p99": 120.0}
PROCESS_DEADLINE = 15.0
"""Seconds a real step or rollback process may take (they take milliseconds)."""


@dataclass
class Crew:
    """A session of the fast profile on a fake clock, and the app around it."""

    session: Session
    clock: FakeClock
    app: CockpitApp
    workdir: Path

    def feed(self, values: dict[str, float], count: int = 1) -> None:
        feed(self.session, self.clock, values, count=count)

    def release_step_1(self) -> None:
        """Let step 1's process finish (it waits for this file)."""
        (self.workdir / "release").touch()


def phase(crew: Crew) -> Phase:
    """The phase, read through a call so that type narrowing does not stick."""
    return crew.session.state.phase


def make_crew(tmp_path: Path, profile: Path = FAST_PROFILE) -> Crew:
    """A session of the fast profile (or a variant of it) on a fake clock, with its app
    (loops not started)."""
    workdir = tmp_path / "ui"
    workdir.mkdir()
    smoke = workdir / "smoke-passed"
    smoke.touch()
    os.utime(smoke, (WALL - 60, WALL - 60))  # a minute old by the fake clock
    clock = FakeClock(WALL)
    session = new_session(profile, tmp_path, clock, {"COCKPIT_UI_DIR": str(workdir)})
    return Crew(session, clock, make_app(session, clock=clock, run_loops=False), workdir)


@asynccontextmanager
async def running(crew: Crew, size: tuple[int, int] = (120, 40)) -> AsyncIterator[Pilot[None]]:
    """The app under the Pilot; afterwards the session is closed and step 1 released."""
    try:
        async with crew.app.run_test(size=size) as pilot:
            yield pilot
            await crew.session.close()
    finally:
        crew.release_step_1()


async def through_checklist(pilot: Pilot[None], crew: Crew) -> None:
    """Readback, the automated checks for real, both manual checks."""
    await read_back(pilot)
    assert phase(crew) is Phase.CHECKLIST, text_of(crew.app, "#notice")
    await crew.session.run_checks()
    await pilot.press("c", "k")


async def to_execution(pilot: Pilot[None], crew: Crew) -> None:
    """Everything up to T0: checks GREEN, a fresh baseline, both GOs."""
    await through_checklist(pilot, crew)
    assert crew.session.state.checks_green() == []
    crew.feed(HEALTHY)
    await pilot.pause()  # the screen redraws from a message
    await pilot.press("g", "m")
    assert phase(crew) is Phase.EXECUTING, text_of(crew.app, "#notice")


async def run_step(pilot: Pilot[None], crew: Crew, index: int) -> None:
    """The Monitor verifies, the Operator runs; wait for the real process to end."""
    await pilot.press("v", "x")
    step = crew.session.state.steps[index]
    assert step.status is not StepStatus.PENDING, text_of(crew.app, "#notice")
    await wait_until(pilot, lambda: step.finished is not None, f"step {step.id}", PROCESS_DEADLINE)
