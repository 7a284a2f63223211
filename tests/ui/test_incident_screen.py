"""Pilot tests of an incident: R from the first frame, the briefing beside it, the Monitor's
keys recorded when pressed, a RED check shown beside R, and the verdicts on the banner.

The fast profile's rollback is a real, quick local command; the metrics are fed on a fake
clock (no probes run), so every timer is exact.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from pathlib import Path
from typing import Any

import pytest

from cockpit.clock import FakeClock
from cockpit.engine import Phase
from cockpit.engine.kinds import Kind
from cockpit.journal import read_journal
from cockpit.session import Session
from cockpit.ui.app import make_app
from cockpit.ui.screens import cockpit as screen_module
from cockpit.ui.widgets.metrics import MonitorPane
from cockpit.watch import WatchedSession
from tests.support.pilot import HEALTHY, PROCESS_DEADLINE, Crew, phase, running
from tests.support.ui import record_check, text_of, wait_until
from tests.unit.test_session_incident import open_incident

pytestmark = pytest.mark.usefixtures("utc_timezone")

RED = {"error-rate": 8.2, "p99": 516.0}


@pytest.fixture
def crew(tmp_path: Path) -> Crew:
    session = open_incident(tmp_path)
    assert isinstance(session.clock, FakeClock)
    app = make_app(session, clock=session.clock, run_loops=False)
    return Crew(session, session.clock, app, tmp_path / "ui")


def kinds(session: Session) -> list[str]:
    session.flush()
    return [r.kind for r in read_journal(session.journal_path)]


async def test_r_in_the_first_frame_rolls_back_and_the_incident_is_mitigated(crew: Crew) -> None:
    async with running(crew) as pilot:
        assert "INCIDENT DECLARED — R rolls back now" in text_of(crew.app, "#banner")
        assert text_of(crew.app, "#keys").lstrip().startswith("R  ROLL BACK NOW")
        await pilot.press("R")  # nothing before it: no readback, no check, no sample
        assert crew.session.state.rollback is not None
        await crew.session.run_history()  # read after the first frame, as the screen does
        started = kinds(crew.session).index(Kind.ROLLBACK_STARTED)
        assert kinds(crew.session)[:started] == [
            Kind.SESSION_STARTED,
            Kind.INCIDENT_DECLARED,
            Kind.LOCK_TAKEN,
        ]
        await wait_until(
            pilot, lambda: phase(crew) is Phase.VERIFYING, "the rollback command", PROCESS_DEADLINE
        )
        crew.feed(HEALTHY, count=3)
        assert phase(crew) is Phase.STABILIZING
        await pilot.pause()
        assert "STABILIZING" in text_of(crew.app, "#banner")
        crew.feed(HEALTHY, count=30)
        crew.session.tick()
        assert phase(crew) is Phase.MITIGATED
        await pilot.pause()
        assert "INCIDENT MITIGATED — ROLLED BACK — VERIFIED" in text_of(crew.app, "#banner")


async def test_the_briefing_says_what_is_red_the_plan_and_the_alternate(crew: Crew) -> None:
    async with running(crew) as pilot:
        crew.feed(HEALTHY, count=2)
        crew.feed(RED, count=3)  # RED since the third second after T0
        await pilot.pause(1.1)  # the once-a-second refresh of the briefing
        briefing = text_of(crew.app, "#briefing")
        assert "INCIDENT DECLARED at 08:00:00 UTC (T0) by ada" in briefing
        assert "HTTP 5xx rate 8.2 % (needs < 2 %) · RED since 08:00:03, T+00:03" in briefing
        assert "p99 latency 516 ms (needs < 250 ms)" in briefing
        assert "$ /bin/sh -c echo rolling back to v1; echo v1 restored" in briefing
        assert "ALTERNATE  Restart fast-web on v1 by hand." in briefing
        assert "not GREEN by T+05:00: the rollback starts by itself" in briefing
        assert "BASELINE  reading the history from before the incident…" in briefing
        await crew.session.run_history()
        await pilot.pause()
        briefing = text_of(crew.app, "#briefing")
        assert "BASELINE  the thresholds: the history shows no RED stretch" in briefing
        assert "HTTP 5xx rate: verified against the threshold (no history)" in briefing
        assert (
            "VERIFIED WHEN  within 45s of the rollback, each metric above has 3 fresh" in briefing
        )
        # Only the checks that guard the rollback: the dry run and the runbook (access).
        assert "Rollback path validated" in briefing and "Runbook version" in briefing
        assert "Smoke tests" not in briefing
        assert "R rolls back now; beside it, Monitor" in text_of(crew.app, "#next")


async def test_the_monitors_keys_are_recorded_and_r_says_it_came_after(crew: Crew) -> None:
    async with running(crew) as pilot:
        await pilot.press("t", "v")
        briefing = text_of(crew.app, "#briefing")
        assert "✔ triggers read back by grace" in briefing
        assert "✔ rollback command verified by grace" in briefing
        assert "the Monitor has read back and verified" in text_of(crew.app, "#next")
        await pilot.press("R")
        rollback = next(
            r for r in read_journal(crew.session.journal_path) if r.kind == Kind.ROLLBACK_STARTED
        )
        assert rollback.body["before"] == []
        assert [r.kind for r in read_journal(crew.session.journal_path)][3:5] == [
            Kind.READBACK_CONFIRMED,
            Kind.ROLLBACK_PLAN_VERIFIED,
        ]


async def test_a_red_rollback_check_is_shown_beside_r_and_never_blocks_it(crew: Crew) -> None:
    async with running(crew) as pilot:
        record_check(crew.session, crew.clock, "rollback-dry-run", False, "exit 1: no v1 image")
        await pilot.pause()
        keys = text_of(crew.app, "#keys")
        assert "ROLL BACK NOW  (⚠ RED: Rollback path validated (dry run))" in keys
        await pilot.press("R")
        assert crew.session.state.rollback is not None


async def test_a_red_stabilization_is_not_mitigated_and_says_why(crew: Crew) -> None:
    async with running(crew) as pilot:
        await crew.session.run_history()
        await pilot.press("R")
        await wait_until(
            pilot, lambda: phase(crew) is Phase.VERIFYING, "the rollback command", PROCESS_DEADLINE
        )
        crew.feed(HEALTHY, count=3)
        crew.feed({"error-rate": 8.2, "p99": 120.0}, count=2)
        assert phase(crew) is Phase.NOT_VERIFIED
        await pilot.pause()
        banner = text_of(crew.app, "#banner")
        assert "INCIDENT NOT MITIGATED — ROLLED BACK — NOT VERIFIED" in banner
        assert "stabilization window FAILED: HTTP 5xx rate" in banner


async def test_r_is_handled_while_the_loops_modules_are_still_importing(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loops start after the first frame by importing the probes (and httpx when a
    source needs it, about 0.04 s); an R pressed on the first frame waited behind those
    imports (63 ms, in benchmarks/incident.py). They are imported on a thread now: here that
    import does not end until R has rolled back."""
    importing = threading.Event()
    release = threading.Event()

    def slow_preload(_profile: object) -> None:
        importing.set()
        release.wait(30)

    started: list[str] = []

    async def loop(name: str) -> None:
        started.append(name)

    monkeypatch.setattr(screen_module, "preload_loops", slow_preload)
    for name in ("run_history", "run_probes", "run_checklist", "run_clock"):
        monkeypatch.setattr(crew.session, name, functools.partial(loop, name))
    try:
        async with running(crew) as pilot:
            screen = crew.app.screen
            assert isinstance(screen, screen_module.CockpitScreen)
            screen.run_loops = True
            screen.start_loops()
            await wait_until(pilot, importing.is_set, "the loops' imports begun")
            await pilot.press("R")
            assert crew.session.state.rollback is not None  # while the imports go on
            assert started == []
            release.set()
            await wait_until(pilot, lambda: len(started) == 4, "the loops started after them")
    finally:
        release.set()


async def test_the_first_layout_is_drawn_once_and_the_rollback_is_warm_on_the_first_frame(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    """R pressed on an incident's first frame waited 84 ms (benchmarks/incident.py): the
    screen drew its panes again when the first layout told it its size, and the supervisor
    for the rollback was started only with the loops. Now the size classes are set from the
    app's size before the first frame (one drawing), and the supervisor is started as soon as
    the first frame is out, before the loops."""
    drawn: list[str] = []
    original = screen_module.CockpitScreen._show_all

    def counted(self: screen_module.CockpitScreen) -> None:
        drawn.append("panes")
        original(self)

    order: list[str] = []
    monkeypatch.setattr(screen_module.CockpitScreen, "_show_all", counted)
    monkeypatch.setattr(
        screen_module.CockpitScreen, "start_loops", lambda self: order.append("loops")
    )
    monkeypatch.setattr(crew.session, "warm_rollback", lambda: order.append("warm"))
    crew.app.run_loops = True
    async with crew.app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "loops" in order, "the loops started")
        assert order == ["warm", "loops"]
        assert drawn == ["panes"]
        assert crew.app.screen.has_class("-narrow")  # 120 columns: the panes stack


async def test_the_loops_imports_thread_is_started_before_the_first_frame(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting a thread waits until it runs: at the first frame, under load, starting the
    loops' import thread held the event loop up to 15 ms just when an R may come. It is
    started idle before the first frame and released after it; no thread is started then."""
    at_ready: list[str] = []
    original_ready = type(crew.app).on_ready

    def on_ready(app: object) -> None:
        at_ready.extend(t.name for t in threading.enumerate())
        original_ready(app)  # type: ignore[arg-type]

    to_thread: list[object] = []

    async def no_to_thread(func: object, /, *args: object, **kwargs: object) -> None:
        to_thread.append(func)

    started: list[str] = []

    async def loop(name: str) -> None:
        started.append(name)

    monkeypatch.setattr(type(crew.app), "on_ready", on_ready)
    monkeypatch.setattr(asyncio, "to_thread", no_to_thread)
    monkeypatch.setattr(screen_module, "preload_loops", lambda _profile: None)
    for name in ("run_history", "run_probes", "run_checklist", "run_clock"):
        monkeypatch.setattr(crew.session, name, functools.partial(loop, name))
    crew.app.run_loops = True
    async with crew.app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(started) == 4, "the loops started")
        assert "cockpit-preload" in at_ready
        assert to_thread == []
    await crew.session.close()


async def test_a_refit_to_the_same_room_draws_nothing(crew: Crew) -> None:
    """The pane and the body around it both hear of a new size in one layout: the second
    refit, to the same room, drew the pane again for nothing."""
    async with running(crew) as pilot:
        await pilot.pause()
        monitor = crew.app.screen.query_one(MonitorPane)
        shown: list[int] = []
        original = monitor.show

        def counted(*args: Any, **kwargs: Any) -> None:
            shown.append(1)
            original(*args, **kwargs)

        monitor.show = counted  # type: ignore[method-assign]
        monitor.refit()
        monitor.refit()
        assert shown == []
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        assert shown  # a new room: drawn again
        before = len(shown)
        monitor.refit()
        assert len(shown) == before


def test_warm_rollback_keeps_a_supervisor_standing_by_in_an_incident(tmp_path: Path) -> None:
    session = open_incident(tmp_path)
    try:
        assert session.processes.standby is None
        session.warm_rollback()
        assert session.processes.standby is not None
    finally:
        session.processes.close()


def test_a_watcher_of_an_incident_keeps_no_supervisor_warm(tmp_path: Path) -> None:
    """A terminal that watches, joins or replays an incident starts no process of its own:
    the screen's early warm-up (at the first frame) must not start a supervisor there."""
    live = open_incident(tmp_path)
    live.flush()
    watcher = WatchedSession.watch(live.journal_path)
    assert watcher.state.is_incident
    try:
        watcher.warm_rollback()
        assert watcher.processes.standby is None
    finally:
        watcher.processes.close()
        live.processes.close()
