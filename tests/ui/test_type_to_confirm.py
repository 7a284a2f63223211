"""Pilot tests: type to confirm the dangerous forward path (issue 10 §4), with typed keys.

The Monitor's readback answers a question drawn from the triggers; acknowledging a point
of no return types the environment's (production) or the service's name; approving a
production gate types the environment's name. A wrong answer is refused, said and recorded;
the profile's ``[confirm]`` table turns each back into one key. R stays one key with no
dialog, and ctrl+r rolls back from inside a type-to-confirm dialog.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.engine import Phase, StepStatus
from cockpit.engine.kinds import Kind
from cockpit.journal import Record, read_journal
from cockpit.ui.screens.dialogs import ReasonDialog, TypeToConfirmDialog
from tests.support.pilot import (
    HEALTHY,
    Crew,
    make_crew,
    phase,
    run_step,
    running,
    to_execution,
)
from tests.support.ui import FAST_PROFILE, read_back, text_of, type_to_confirm, wait_until

pytestmark = pytest.mark.usefixtures("utc_timezone")

GATED = """
approval = "approver"
irreversible = true
irreversible_policy = "forward fix only"
"""


def variant(
    tmp_path: Path,
    *,
    confirm: str = "",
    gate_step: str = "deploy",
    environment: str = "production",
) -> Path:
    """The fast profile, with one step gated and irreversible, in an environment, and a
    ``[confirm]`` table."""
    text = FAST_PROFILE.read_text(encoding="utf-8")
    text = text.replace("two_person_rule = true", 'two_person_rule = true\napprovers = ["carol"]')
    text = text.replace(f'id = "{gate_step}"\n', f'id = "{gate_step}"\n{GATED}')
    text = text.replace('"production"', f'"{environment}"')
    path = tmp_path / "gated.toml"
    path.write_text(text + (f"\n[confirm]\n{confirm}\n" if confirm else ""), encoding="utf-8")
    return path


def records(crew: Crew, kind: str) -> list[Record]:
    return [r for r in read_journal(crew.session.journal_path) if r.kind == kind]


def approved_by(crew: Crew) -> str | None:
    """Read through a call, so that type narrowing does not stick."""
    return crew.session.state.steps[0].approved_by


def rolling_back(crew: Crew) -> bool:
    return crew.session.state.rollback is not None


def dialog_open(crew: Crew) -> bool:
    return isinstance(crew.app.screen, TypeToConfirmDialog)


async def test_the_readback_answers_the_trigger_time(tmp_path: Path) -> None:
    crew = make_crew(tmp_path)
    async with running(crew) as pilot:
        assert "press t and answer" in text_of(crew.app, "#next")
        await pilot.press("t")
        await wait_until(pilot, lambda: dialog_open(crew), "the readback question")
        question = str(crew.app.screen.query_one(".dialog-title").render())
        assert "After how long does the cockpit roll back by itself?" in question
        assert "5" not in question  # the question does not give the answer away
        await pilot.press("escape")  # cancelled: nothing is recorded
        await wait_until(pilot, lambda: not dialog_open(crew), "the dialog closed")
        assert phase(crew) is Phase.BRIEFING
        assert records(crew, Kind.REFUSED) == []

        await read_back(pilot, "2 min")  # wrong: refused, said, recorded
        notice = text_of(crew.app, "#notice")
        assert "REFUSED: wrong answer: the readback asks for the trigger time" in notice
        assert phase(crew) is Phase.BRIEFING
        refused = records(crew, Kind.REFUSED)
        assert [r.body["intent"] for r in refused] == ["ConfirmReadback"]
        assert "wrong answer" in str(refused[0].body["reason"])

        await read_back(pilot, "5:00")  # the briefing says 5m; 5:00 is the same time
        assert phase(crew) is Phase.CHECKLIST, text_of(crew.app, "#notice")
        (readback,) = records(crew, Kind.READBACK_CONFIRMED)
        assert readback.body["typed"] == "5:00"
        assert "roll back by itself" in str(readback.body["question"])
        assert readback.actor.role == "monitor"


async def test_the_readback_is_one_key_when_the_profile_turns_it_off(tmp_path: Path) -> None:
    crew = make_crew(tmp_path, variant(tmp_path, confirm="readback = false"))
    async with running(crew) as pilot:
        assert "read the rollback triggers back, then press t" in text_of(crew.app, "#next")
        await pilot.press("t")
        await pilot.pause()
        assert not dialog_open(crew)
        assert phase(crew) is Phase.CHECKLIST
        (readback,) = records(crew, Kind.READBACK_CONFIRMED)
        assert "typed" not in readback.body


async def test_a_production_gate_and_a_point_of_no_return_are_typed(tmp_path: Path) -> None:
    crew = make_crew(tmp_path, variant(tmp_path))
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await pilot.press("v")
        assert "approval: p, then type production" in text_of(crew.app, "#next")

        await pilot.press("p")  # the approver's name first, then the environment's
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "the name")
        await pilot.press(*"carol", "enter")
        await type_to_confirm(pilot, "staging")
        assert "wrong answer: type the environment's name 'production'" in text_of(
            crew.app, "#notice"
        )
        assert approved_by(crew) is None
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "the name")
        await pilot.press(*"carol", "enter")
        await type_to_confirm(pilot, "Production")  # case does not matter
        assert approved_by(crew) == "carol"
        (approval,) = records(crew, Kind.STEP_APPROVED)
        assert approval.body["typed"] == "Production"

        assert "POINT OF NO RETURN: i to acknowledge, then type production" in text_of(
            crew.app, "#next"
        )
        await pilot.press("i")
        await type_to_confirm(pilot, "fast-web")  # the service: not what production asks
        assert "type the environment's name 'production'" in text_of(crew.app, "#notice")
        await pilot.press("i")
        await type_to_confirm(pilot, "production")
        (ack,) = records(crew, Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED)
        assert ack.body["typed"] == "production"
        assert ack.body["policy"] == "forward fix only"
        refused = [r.body["intent"] for r in records(crew, Kind.REFUSED)]
        assert refused == ["ApproveStep", "AcknowledgeIrreversible"]

        await pilot.press("x")  # running stays one key once acknowledged
        await wait_until(
            pilot,
            lambda: crew.session.state.steps[0].status is not StepStatus.PENDING,
            "step 1 started",
        )


async def test_outside_production_the_service_name_is_typed_and_no_gate_asks(
    tmp_path: Path,
) -> None:
    crew = make_crew(tmp_path, variant(tmp_path, environment="staging"))
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await pilot.press("v", "p")
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "the name")
        await pilot.press(*"carol", "enter")
        await pilot.pause()
        assert not dialog_open(crew)  # a gate outside production asks for the name only
        assert crew.session.state.steps[0].approved_by == "carol"
        await pilot.press("i")
        await type_to_confirm(pilot, "fast-web")
        assert crew.session.state.steps[0].irreversible_ack_by == "ada"


async def test_turned_off_the_gate_and_the_point_of_no_return_keep_one_key(
    tmp_path: Path,
) -> None:
    off = "irreversible_step = false\nproduction_approval = false"
    crew = make_crew(tmp_path, variant(tmp_path, confirm=off))
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await pilot.press("v", "p")
        await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "the name")
        await pilot.press(*"carol", "enter", "i")
        await pilot.pause()
        assert not dialog_open(crew)
        step = crew.session.state.steps[0]
        assert step.approved_by == "carol" and step.irreversible_ack_by == "ada"


async def test_ctrl_r_rolls_back_from_inside_a_type_to_confirm_dialog(tmp_path: Path) -> None:
    crew = make_crew(tmp_path, variant(tmp_path, gate_step="warm-cache"))
    crew.release_step_1()
    async with running(crew) as pilot:
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)
        crew.feed(HEALTHY, count=3)
        await pilot.pause()
        assert crew.session.state.steps[0].stop_point_passed
        await pilot.press("v", "i")  # the point of no return of step 2: its dialog opens
        await wait_until(pilot, lambda: dialog_open(crew), "the dialog")
        await pilot.press(*"prod", "R")  # inside the dialog every letter is the answer's
        assert not rolling_back(crew)
        await pilot.press("ctrl+r")  # one key, from inside the dialog
        assert rolling_back(crew)
        assert not dialog_open(crew)
        assert crew.session.state.steps[1].irreversible_ack_by is None
        assert records(crew, Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED) == []


@pytest.mark.parametrize("key", ["R", "h", "n"])
async def test_r_hold_and_nogo_open_no_type_to_confirm(tmp_path: Path, key: str) -> None:
    """Where the forward path asks for a word, R, HOLD and NO-GO stay as they were: R rolls
    back with one key and no dialog; h and n ask only their reason."""
    crew = make_crew(tmp_path, variant(tmp_path, gate_step="warm-cache"))
    crew.release_step_1()
    async with running(crew) as pilot:
        if key == "n":  # NO-GO belongs to the briefing: with the readback question pending
            await pilot.press("n")
            await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "why")
            assert not dialog_open(crew)
            await pilot.press(*"not ready", "enter")
            await pilot.pause()
            assert crew.session.state.hold is not None
            return
        await to_execution(pilot, crew)
        await run_step(pilot, crew, 0)
        crew.feed(HEALTHY, count=3)
        await pilot.press("v")
        assert "then type production" in text_of(crew.app, "#next")  # the forward path asks
        await pilot.press(key)
        if key == "R":
            assert crew.session.state.rollback is not None
            assert crew.app.screen.is_modal is False
        else:
            await wait_until(pilot, lambda: isinstance(crew.app.screen, ReasonDialog), "why")
            assert not dialog_open(crew)
            await pilot.press(*"pager", "enter")
            await pilot.pause()
            assert crew.session.state.hold is not None
