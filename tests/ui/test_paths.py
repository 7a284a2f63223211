"""Pilot tests: every path of the procedure, driven by real key presses on the real screen.

The profile (tests/data/ui/fast.toml) runs real, quick local commands; the metrics are fed
by the tests on a fake clock (``run_loops=False`` starts no probes), so timers are exact.
Each test asserts on the session's state and on what the screen shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.engine import Phase, StepStatus
from cockpit.ui.app import make_app
from cockpit.ui.screens.dialogs import ConfirmDialog, ReasonDialog
from tests.support.pilot import (
    HEALTHY,
    PROCESS_DEADLINE,
    Crew,
    make_crew,
    phase,
    run_step,
    running,
    through_checklist,
    to_execution,
)
from tests.support.ui import (
    clock_shown,
    output_lines,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("utc_timezone")


@pytest.fixture
def crew(tmp_path: Path) -> Crew:
    return make_crew(tmp_path)


async def test_happy_path_to_complete(crew: Crew) -> None:
    crew.release_step_1()
    async with running(crew) as pilot:
        assert "read the rollback triggers back" in text_of(crew.app, "#next")
        await to_execution(pilot, crew)
        assert "Operator: run step 1" not in text_of(crew.app, "#next")  # Monitor verifies first
        assert "verify the command of step 1" in text_of(crew.app, "#next")

        await run_step(pilot, crew, 0)
        assert crew.session.state.steps[0].exit_code == 0
        await wait_until(pilot, lambda: "v2 is live" in output_lines(crew.app), "step output")
        assert any("STEP deploy" in line for line in output_lines(crew.app))
        crew.feed(HEALTHY, count=3)
        await pilot.pause()  # the screen redraws from a message
        assert crew.session.state.steps[0].stop_point_passed
        assert "stop point ✔ GREEN" in text_of(crew.app, "#steps")

        await run_step(pilot, crew, 1)
        crew.feed(HEALTHY, count=3)
        await pilot.pause()  # the screen redraws from a message
        assert phase(crew) is Phase.HEALTH
        assert "health window" in text_of(crew.app, "#next")

        crew.feed(HEALTHY, count=31)  # the health window is 30 s; samples keep it GREEN
        await pilot.pause()  # the screen redraws from a message
        crew.session.tick()
        await pilot.pause()  # the screen redraws from a message
        assert phase(crew) is Phase.COMPLETE
        assert text_of(crew.app, "#phase") == "COMPLETE"
        assert f"record: {crew.session.journal_path}" in text_of(crew.app, "#notice")
        assert "session ended: COMPLETE" in text_of(crew.app, "#next")
        assert not crew.app.screen.query_one("#banner").display


async def test_red_check_blocks_go(crew: Crew) -> None:
    (crew.workdir / "smoke-passed").unlink()
    async with running(crew) as pilot:
        await through_checklist(pilot, crew)
        assert crew.session.state.checks_green() == ["smoke-today"]
        assert "✘ FAIL" in text_of(crew.app, "#checklist")
        crew.feed(HEALTHY)
        await pilot.pause()  # the screen redraws from a message
        await pilot.press("g")
        notice = text_of(crew.app, "#notice")
        assert "REFUSED" in notice
        assert "Smoke tests passed within the hour" in notice
        assert crew.session.state.go == {}
        assert phase(crew) is Phase.CHECKLIST


async def test_missing_readback_blocks_go(crew: Crew) -> None:
    async with running(crew) as pilot:
        await crew.session.run_checks()
        crew.feed(HEALTHY)
        await pilot.pause()  # the screen redraws from a message
        await pilot.press("g")
        notice = text_of(crew.app, "#notice")
        assert "REFUSED" in notice
        assert "reads back the rollback triggers" in notice
        assert crew.session.state.go == {}
        assert phase(crew) is Phase.BRIEFING
        assert "✘ the Monitor has not read the triggers back yet" in text_of(crew.app, "#briefing")


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
async def test_red_stop_point_blocks_the_next_step(crew: Crew, size: tuple[int, int]) -> None:
    crew.release_step_1()
    async with running(crew, size) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)
        crew.feed({"error-rate": 6.5, "p99": 120.0})  # failure_limit 0: one FAIL is RED
        await pilot.pause()  # the screen redraws from a message
        assert crew.session.state.advisory is not None
        banner = text_of(crew.app, "#banner")
        assert "ROLLBACK ADVISED at T+00:01 — press R" in banner  # when its figures were taken
        assert "HTTP 5xx rate" in banner
        assert "✘ RED" in text_of(crew.app, "#verdict")

        await pilot.press("v", "x")
        notice = text_of(crew.app, "#notice")
        assert "REFUSED" in notice
        assert "stop point is not GREEN yet" in notice
        assert crew.session.state.steps[1].status is StepStatus.PENDING
        assert crew.session.state.rollback is None  # advised, not started: R is the crew's


async def test_rollback_during_a_step_runs_and_is_verified(crew: Crew) -> None:
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await pilot.press("v", "x")
        step = crew.session.state.steps[0]
        await wait_until(pilot, lambda: step.status is StepStatus.RUNNING, "step 1 running")

        await pilot.press("R")
        rollback = crew.session.state.rollback
        assert rollback is not None
        assert rollback.commands[0].pid is not None  # the process exists once R is handled
        assert step.finished is None  # the step was still running
        assert "ROLLING BACK NOW" in text_of(crew.app, "#banner")
        assert "R pressed" in text_of(crew.app, "#banner")

        await wait_until(
            pilot, lambda: phase(crew) is Phase.VERIFYING, "the rollback command", PROCESS_DEADLINE
        )
        await wait_until(pilot, lambda: "v1 restored" in output_lines(crew.app), "its output")
        assert "ROLLING BACK NOW — VERIFYING" in text_of(crew.app, "#banner")
        crew.feed({"error-rate": 0.35, "p99": 131.0}, count=3)  # near the GO baseline
        await pilot.pause()  # the screen redraws from a message
        assert phase(crew) is Phase.ROLLED_BACK
        assert text_of(crew.app, "#banner") == "✔ ROLLED BACK — VERIFIED"
        assert "✔ BACK" in text_of(crew.app, "#verification")


async def test_rollback_before_the_first_step_is_refused(crew: Crew) -> None:
    async with running(crew) as pilot:
        await through_checklist(pilot, crew)
        await pilot.press("R")
        assert crew.session.state.rollback is None
        notice = text_of(crew.app, "#notice")
        assert "REFUSED" in notice
        assert "nothing has been deployed" in notice
        assert not crew.app.screen.query_one("#banner").display


async def test_five_minute_rule_rolls_back_by_itself(crew: Crew) -> None:
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)
        assert "AUTO-ROLLBACK IN 05:00" in text_of(crew.app, "#countdown")
        crew.clock.advance(299)
        crew.session.tick()
        await pilot.pause()  # the screen redraws from a message
        assert not crew.session.state.phase.finished
        assert phase(crew) is Phase.EXECUTING  # one second left: no rollback yet

        crew.clock.advance(2)
        crew.session.tick()
        await pilot.pause()  # the screen redraws from a message
        rollback = crew.session.state.rollback
        assert rollback is not None
        assert rollback.automatic
        banner = text_of(crew.app, "#banner")
        assert "ROLLING BACK NOW" in banner
        assert "AUTOMATIC: trigger time (05:00) passed: not GREEN by T+" in banner
        await wait_until(
            pilot, lambda: phase(crew) is Phase.VERIFYING, "rollback", PROCESS_DEADLINE
        )


async def test_hold_with_a_reason_and_resume(crew: Crew) -> None:
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await pilot.press("v", "h")
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "the dialog")
        await pilot.press(*"db replica lagging", "enter")
        await wait_until(pilot, lambda: crew.session.state.hold is not None, "the HOLD")
        hold = crew.session.state.hold
        assert hold is not None
        assert hold.reason == "db replica lagging"
        assert text_of(crew.app, "#phase") == "HOLD (EXECUTING)"
        assert "on HOLD (db replica lagging)" in text_of(crew.app, "#next")

        await pilot.press("x")
        assert "REFUSED: on HOLD (db replica lagging)" in text_of(crew.app, "#notice")
        assert crew.session.state.steps[0].status is StepStatus.PENDING

        await pilot.press("u")
        assert crew.session.state.hold is None
        assert text_of(crew.app, "#phase") == "EXECUTING"
        await pilot.press("x")
        await wait_until(
            pilot, lambda: crew.session.state.steps[0].exit_code == 0, "step 1", PROCESS_DEADLINE
        )


async def test_quit_asks_during_execution(crew: Crew) -> None:
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ConfirmDialog), "the question")
        assert "Running processes keep running" in str(
            crew.app.screen.query_one(".dialog-title").render()
        )
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(crew.app.screen, ConfirmDialog), "closing")
        assert crew.app.is_running
        assert phase(crew) is Phase.EXECUTING

        await pilot.press("ctrl+q")  # Textual's own quit key asks the same question
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ConfirmDialog), "the question")
        await pilot.press("y")
        await wait_until(pilot, lambda: not crew.app.is_running, "the app to exit")
        assert phase(crew) is Phase.EXECUTING  # quitting is not rolling back


async def test_no_color_reads_in_symbols_and_words(
    crew: Crew, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(crew.session, clock=crew.clock, run_loops=False)
    assert app.no_color
    (crew.workdir / "smoke-passed").unlink()
    crew.app = app
    async with running(crew, (80, 24)) as pilot:
        await through_checklist(pilot, crew)
        crew.feed(HEALTHY)
        await pilot.pause()  # the screen redraws from a message
        await wait_until(pilot, lambda: clock_shown(app), "the 1 s refresh")
        checklist = text_of(app, "#checklist")
        assert "✔ PASS" in checklist
        assert "✘ FAIL" in checklist
        assert "✔ CONFIRMED" in checklist
        assert "· GO?" in checklist
        assert "✔ PASS" in str(app.screen.query_one("#metric-error-rate").render())
        assert "waiting for checks to be GREEN: smoke-today" in text_of(app, "#next")
        keys = text_of(app, "#keys")
        assert " R  ROLL BACK NOW" in keys
        await pilot.press("g")
        assert "✘ REFUSED" in text_of(app, "#notice")


async def test_ctrl_r_rolls_back_from_inside_a_dialog(crew: Crew) -> None:
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "the dialog")
        await pilot.press("R")  # in a text field R is a letter: it must not roll back
        assert crew.session.state.rollback is None
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: crew.session.state.rollback is not None, "the rollback")
        await wait_until(
            pilot, lambda: not isinstance(crew.app.screen, ReasonDialog), "the dialog to close"
        )
        assert crew.session.state.hold is None  # the half-typed HOLD was not recorded


@pytest.mark.parametrize("key", ["R", "ctrl+r"])
async def test_journal_failed_on_screen_and_r_still_rolls_back(crew: Crew, key: str) -> None:
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)

        def broken(fd: int) -> None:
            raise OSError(5, "Input/output error")

        crew.session.journal._fsync = broken
        await pilot.press("h")  # any new action: refused, and the failure is on screen
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "the dialog")
        await pilot.press(*"disk", "enter")
        await wait_until(pilot, lambda: "JOURNAL FAILED" in text_of(crew.app, "#notice"), "it")
        assert crew.session.state.hold is None
        await pilot.press(key)
        await wait_until(
            pilot, lambda: phase(crew) is Phase.VERIFYING, "the rollback", PROCESS_DEADLINE
        )
        assert "ROLLING BACK NOW" in text_of(crew.app, "#notice")  # named as not recorded


@pytest.mark.parametrize("size", [(20, 5), (40, 10), (79, 23)])
async def test_a_too_small_terminal_still_says_r_rolls_back(
    crew: Crew, size: tuple[int, int]
) -> None:
    crew.release_step_1()
    async with running(crew, size) as pilot:
        shown = "".join(
            "".join(seg.text for seg in strip)
            for strip in crew.app.screen._compositor.render_strips()
        )
        assert "R still rolls back" in shown  # the first words: they survive any cut
        assert f"{size[0]}x{size[1]}" in shown or size[0] < 30
        await through_checklist(pilot, crew)
        assert crew.session.state.readback_by is not None  # keys still work
