"""Nothing that keeps the crew safe stops silently: a fault injected into each background loop
in turn (the clock, the probes, the checks, the output reader) must leave the loop working,
and the screen must say what failed and what it affects; a loop that stops anyway is named in
the top bar at once ("AUTO-ROLLBACK NOT ARMED: clock stopped") and recorded.

Pilot on the real screen, fake clock for the session's time, real loops.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cockpit.engine import Phase, rules
from cockpit.engine import intents as i
from cockpit.journal import read_journal
from cockpit.runner import OutputTail
from cockpit.session import loops
from tests.support.pilot import (
    Crew,
    make_crew,
    phase,
    run_step,
    running,
    through_checklist,
    to_execution,
)
from tests.support.ui import output_lines, read_back, text_of, wait_until

pytestmark = pytest.mark.usefixtures("utc_timezone")

DEADLINE = 15.0


@pytest.fixture
def crew(tmp_path: Path) -> Crew:
    return make_crew(tmp_path)


class Fault:
    """Wraps ``real``: every call raises while ``active``; ``calls`` counts the calls."""

    def __init__(self, real: Callable[..., Any], *, active: bool = True) -> None:
        self.real = real
        self.active = active
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.active:
            raise RuntimeError("injected fault")
        return self.real(*args, **kwargs)


def top_bar(crew: Crew) -> str:
    return text_of(crew.app, "#deployment") + " " + text_of(crew.app, "#countdown")


def all_faulted(crew: Crew) -> bool:
    """Whether every metric's newest sample is the ERROR that stands for a probe that raised."""
    return all(
        m.last is not None and m.last.detail == "probe failed: RuntimeError"
        for m in crew.session.state.metrics.values()
    )


def kinds(crew: Crew) -> list[str]:
    crew.session.flush()
    return [r.kind for r in read_journal(crew.session.journal_path)]


async def test_a_failing_clock_pass_is_shown_and_the_trigger_rule_still_fires(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    crew.release_step_1()
    fault = Fault(rules._RULES[i.Tick])
    monkeypatch.setitem(rules._RULES, i.Tick, fault)
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)  # the stop point is not GREEN: the countdown runs
        crew.clock.advance(301)  # past the trigger time
        crew.app.screen.run_worker(crew.session.run_clock(), group="clock")
        await wait_until(pilot, lambda: "CLOCK FAILING" in top_bar(crew), "the failure shown")
        assert "injected fault" in top_bar(crew)
        await wait_until(pilot, lambda: fault.calls >= 3, "more failing passes")
        assert phase(crew) is Phase.EXECUTING  # the failing passes decided nothing
        fault.active = False
        # The loop carries on: its next good pass fires the trigger-time rule.
        await wait_until(pilot, lambda: crew.session.state.rollback is not None, "the rollback")
        rollback = crew.session.state.rollback
        assert rollback is not None
        assert rollback.automatic
        await wait_until(pilot, lambda: "FAILING" not in top_bar(crew), "the recovery shown")
        recorded = kinds(crew)
        assert recorded.count("loop.failed") == 1  # recorded once, not once per tick
        assert "loop.recovered" in recorded
        assert recorded.index("loop.failed") < recorded.index("rollback.started")


async def test_a_clock_that_stops_is_named_in_the_top_bar_and_started_again(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)
        assert "AUTO-ROLLBACK IN" in top_bar(crew)
        monkeypatch.setattr(loops, "TICK_INTERVAL", "not a number")  # breaks the loop itself
        crew.app.screen.run_worker(crew.session.run_clock(), group="clock")
        await wait_until(
            pilot, lambda: "AUTO-ROLLBACK NOT ARMED: clock stopped" in top_bar(crew), "the stop"
        )
        assert "NOT ARMED" in text_of(crew.app, "#countdown")  # no countdown that lies
        assert "loop.stopped" in kinds(crew)
        monkeypatch.setattr(loops, "TICK_INTERVAL", 0.5)  # whatever broke it is gone
        await wait_until(pilot, lambda: "NOT ARMED" not in top_bar(crew), "the restart")
        assert "AUTO-ROLLBACK IN" in text_of(crew.app, "#countdown")
        assert "loop.recovered" in kinds(crew)


async def test_a_clock_that_goes_silent_is_reported_stopped(crew: Crew) -> None:
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)
        crew.session.loops.clock_silence = 0.3
        worker = crew.app.screen.run_worker(crew.session.run_clock(), group="clock")
        await wait_until(pilot, lambda: "clock" in crew.session.loops.guard.beats, "a tick")
        worker.cancel()  # no exception, no return: the loop is simply gone
        await wait_until(
            pilot,
            lambda: "AUTO-ROLLBACK NOT ARMED: clock stopped" in top_bar(crew),
            "the silence noticed by the screen's own timer",
        )
        assert "loop.stopped" in kinds(crew)


async def test_a_probe_that_raises_is_an_error_sample_and_the_probes_go_on(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = Fault(importlib.import_module("cockpit.probes.measure").sample_metric_with)
    monkeypatch.setattr("cockpit.probes.scheduler.sample_metric_with", fault)
    async with running(crew) as pilot:
        crew.app.screen.run_worker(crew.session.run_probes(), group="probes")
        await wait_until(pilot, lambda: "PROBES FAILING" in top_bar(crew), "the failure shown")
        # Each metric whose probe raised has an ERROR sample: never a silent gap.
        await wait_until(pilot, lambda: all_faulted(crew), "an ERROR sample of every metric")
        fault.active = False
        await wait_until(pilot, lambda: "FAILING" not in top_bar(crew), "the recovery shown")
        for metric in crew.session.state.metrics.values():  # sampled for real again
            assert metric.last is not None
            assert metric.last.detail != "probe failed: RuntimeError"


async def test_a_check_that_raises_is_an_error_and_the_checklist_goes_on(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cockpit.probes

    monkeypatch.setattr(loops, "CHECK_INTERVAL", 0.05)
    fault = Fault(cockpit.probes.run_check)
    monkeypatch.setattr(cockpit.probes, "run_check", fault)
    async with running(crew) as pilot:
        await read_back(pilot)
        crew.app.screen.run_worker(crew.session.run_checklist(), group="checks")
        await wait_until(pilot, lambda: "CHECKS FAILING" in top_bar(crew), "the failure shown")
        failed = [c.sample for c in crew.session.state.checks.values() if c.sample is not None]
        assert failed
        assert all(s.detail == "the check failed: RuntimeError" for s in failed)
        fault.active = False
        # The next pass measures every automated check for real: both PASS, and it recovers.
        await wait_until(pilot, lambda: "FAILING" not in top_bar(crew), "the recovery shown")
        await pilot.press("c", "k")
        assert crew.session.state.checks_green() == []
        assert phase(crew) is Phase.CHECKLIST


async def test_the_output_reader_survives_a_failing_read(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    fault = Fault(OutputTail.read_lines)
    monkeypatch.setattr(OutputTail, "read_lines", lambda tail: fault(tail))  # noqa: PLW0108 -- a bound method
    async with running(crew) as pilot:
        await through_checklist(pilot, crew)
        await to_execution_from_checklist(pilot, crew)
        await pilot.press("v", "x")
        await wait_until(pilot, lambda: "OUTPUT FAILING" in top_bar(crew), "the failure shown")
        fault.active = False
        crew.release_step_1()
        await wait_until(pilot, lambda: "v2 is live" in output_lines(crew.app), "later output")
        await wait_until(pilot, lambda: "FAILING" not in top_bar(crew), "the recovery shown")


async def to_execution_from_checklist(pilot: Any, crew: Crew) -> None:
    """GO once the checks are GREEN (they were measured by ``through_checklist``)."""
    from tests.support.pilot import HEALTHY

    crew.feed(HEALTHY)
    await pilot.pause()
    await pilot.press("g", "m")
    assert phase(crew) is Phase.EXECUTING


def test_the_guard_never_lets_a_pass_raise() -> None:
    reported: list[i.RecordLoopHealth] = []
    from cockpit.clock import FakeClock

    guard = loops.LoopGuard(reported.append, FakeClock())

    def boom() -> None:
        raise ZeroDivisionError("boom")

    with guard.one_pass("clock"):
        boom()
    with guard.one_pass("clock"):
        pass
    assert [(r.loop, r.error, r.stopped) for r in reported] == [
        ("clock", "ZeroDivisionError: boom", False),
        ("clock", None, False),
    ]

    async def ends() -> None:
        return None

    async def run() -> None:
        task = asyncio.ensure_future(guard.keep_running("probes", ends))
        while not any(r.stopped for r in reported):
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())
    assert reported[-1].loop == "probes"
    assert reported[-1].error == "RuntimeError: the loop ended"
