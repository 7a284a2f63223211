"""Type to confirm (issue 10 §4): the right text is accepted and recorded, a wrong one is
refused (and the session records the refusal), and the profile's ``[confirm]`` turns each
confirmation back into one key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cockpit.clock import FakeClock
from cockpit.durations import DurationError, parse_spoken_duration
from cockpit.engine import Refusal, confirm
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.journal import read_journal
from cockpit.profile import load_profile
from cockpit.profile.models import Profile
from cockpit.session import Session
from tests.unit.test_engine import APPROVER, DEMO, MONITOR, OPERATOR, Sim, T, demo_data
from tests.unit.test_engine_refusals import two_steps_second_approved, two_steps_second_next

QUICK = Path(__file__).resolve().parents[1] / "data" / "session" / "quick.toml"


def briefing(**changes: Any) -> Sim:
    sim = Sim(demo_data(**changes))
    sim.start()
    return sim


def profile(**changes: Any) -> Profile:
    return Profile.model_validate(demo_data(**changes))


# ---------------------------------------------------------------- the readback


@pytest.mark.parametrize("typed", ["5m", "5:00", "300s", "5 min", " 5 Minutes ", "0:05:00"])
def test_the_readback_accepts_the_trigger_time_however_it_is_written(typed: str) -> None:
    sim = briefing()
    (event,) = sim.do(i.ConfirmReadback(MONITOR, T, typed=typed))
    assert event.kind == Kind.READBACK_CONFIRMED
    assert event.body["typed"] == typed.strip()
    assert "After how long does the cockpit roll back by itself?" in event.body["question"]
    assert event.body["triggers"] == list(DEMO.briefing.contingency.triggers)
    assert sim.state.readback_by == "grace"


@pytest.mark.parametrize("typed", ["4m", "5", "five minutes", "5m later", "   ", None])
def test_the_readback_refuses_anything_else_and_says_what_it_asks_for(typed: str | None) -> None:
    sim = briefing()
    reason = sim.refused(i.ConfirmReadback(MONITOR, T, typed=typed))
    said = "wrong answer" if typed and typed.strip() else "nothing was typed"
    assert reason.startswith(f"{said}: the readback asks for the trigger time")
    assert "5m" not in reason and "5:00" not in reason and "300" not in reason  # no answer
    assert sim.state.readback_by is None


def test_the_readback_question_follows_the_trigger_time_policy() -> None:
    ask = confirm.readback_ask(profile(rollback__on_trigger_time="prompt"))
    assert ask is not None and "advise a rollback?" in ask.question


def test_without_a_trigger_time_the_readback_asks_for_a_stop_points_metric() -> None:
    sim = briefing(briefing__contingency__trigger_time="0s")
    ask = confirm.readback_ask(profile(briefing__contingency__trigger_time="0s"))
    assert ask is not None and ask.kind == "metric"
    assert "stop point after step 1 (deploy-v2)" in ask.question
    assert "the id of a metric of the stop point" in sim.refused(
        i.ConfirmReadback(MONITOR, T, typed="5m")
    )
    (event,) = sim.do(i.ConfirmReadback(MONITOR, T, typed="Error-Rate"))
    assert event.body["typed"] == "Error-Rate"


def test_with_no_stop_point_either_it_asks_for_a_metric_the_rollback_is_verified_by() -> None:
    data = demo_data(briefing__contingency__trigger_time="0s")
    for stage in data["stages"]:
        for step in stage["steps"]:
            step["stop_point"] = []
    ask = confirm.readback_ask(Profile.model_validate(data))
    assert ask is not None and "proves the rollback worked" in ask.question
    assert ask.accepts(DEMO.rollback.verify.metrics[0])
    assert not ask.accepts("nope")


def test_turned_off_the_readback_is_one_key() -> None:
    sim = briefing(confirm={"readback": False})
    (event,) = sim.do(i.ConfirmReadback(MONITOR, T))
    assert "typed" not in event.body and "question" not in event.body


def test_in_an_incident_the_readback_stays_one_key() -> None:
    sim = Sim(demo_data())
    sim.do(
        i.StartSession(
            OPERATOR, T, sim.profile_data, "abc", "demo.toml", "ada", "grace", kind="incident"
        )
    )
    (event,) = sim.do(i.ConfirmReadback(MONITOR, T + 1))
    assert event.kind == Kind.READBACK_CONFIRMED and "typed" not in event.body


# ---------------------------------------------------------------- points of no return, gates


def test_a_production_gate_asks_for_the_environments_name() -> None:
    sim = two_steps_second_next()
    assert "nothing was typed: type the environment's name 'production'" in sim.refused(
        i.ApproveStep(APPROVER, sim.now, "announce")
    )
    (event,) = sim.do(i.ApproveStep(APPROVER, sim.now, "announce", typed=" PRODUCTION "))
    assert event.body["typed"] == "PRODUCTION"
    assert sim.state.steps[1].approved_by == "carol"


def test_a_point_of_no_return_in_production_asks_for_the_environments_name() -> None:
    sim = two_steps_second_approved()
    assert "type the environment's name 'production'" in sim.refused(
        i.AcknowledgeIrreversible(OPERATOR, sim.now, "announce", typed="demo-web")
    )
    (event,) = sim.do(i.AcknowledgeIrreversible(OPERATOR, sim.now, "announce", typed="production"))
    assert event.body["typed"] == "production"
    assert "POINT OF NO RETURN (forward fix only)" in event.body["question"]


def staging(data: dict[str, Any]) -> dict[str, Any]:
    data["deployment"]["environments"] = ["staging"]
    for stage in data["stages"]:
        stage["environment"] = "staging"
    return data


def test_outside_production_the_service_name_is_typed_and_a_gate_asks_nothing() -> None:
    gated = {"approval": "approver", "irreversible": True}
    data = staging(demo_data())
    data["stages"][0]["steps"][0].update(gated)
    data["roles"]["approvers"] = ["carol"]
    sim = Sim(data)
    sim.to_execution()
    step = sim.state.steps[0].id
    assert confirm.approval_ask(Profile.model_validate(data), step) is None
    sim.do(i.ApproveStep(APPROVER, sim.now, step))
    assert "type the service's name 'demo-web'" in sim.refused(
        i.AcknowledgeIrreversible(OPERATOR, sim.now, step, typed="staging")
    )
    (event,) = sim.do(i.AcknowledgeIrreversible(OPERATOR, sim.now, step, typed="demo-web"))
    assert event.body["typed"] == "demo-web"


def test_turned_off_the_gate_and_the_point_of_no_return_are_one_key() -> None:
    data = demo_data(confirm={"irreversible_step": False, "production_approval": False})
    second = dict(data["stages"][0]["steps"][0])
    second.update(id="announce", approval="approver", irreversible=True)
    data["stages"][0]["steps"].append(second)
    data["roles"]["approvers"] = ["carol"]
    p = Profile.model_validate(data)
    assert confirm.approval_ask(p, "announce") is None
    assert confirm.irreversible_ask(p, "announce") is None
    assert confirm.confirmations_off(p) == [
        "acknowledging a point of no return (i)",
        "approving a production gate (p)",
    ]
    assert confirm.confirmations_off(DEMO) == []


# ---------------------------------------------------------------- the record


async def test_a_wrong_answer_is_refused_and_recorded(tmp_path: Path) -> None:
    clock = FakeClock()
    session = Session.create(QUICK, sessions_dir=tmp_path, environ={}, clock=clock)
    mon = session.crew.actor("monitor")
    try:
        with pytest.raises(Refusal, match="wrong answer: the readback asks for the trigger time"):
            session.submit(i.ConfirmReadback(mon, clock.wall(), typed="1h"))
        ask = confirm.readback_ask(load_profile(QUICK))
        assert ask is not None
        session.submit(i.ConfirmReadback(mon, clock.wall(), typed=ask.answers[0]))
    finally:
        await session.close()
    records = read_journal(session.journal_path)
    refused = [r for r in records if r.kind == Kind.REFUSED]
    assert [r.body["intent"] for r in refused] == ["ConfirmReadback"]
    assert str(refused[0].body["reason"]).startswith("wrong answer")
    assert refused[0].actor.role == "monitor"
    (readback,) = [r for r in records if r.kind == Kind.READBACK_CONFIRMED]
    assert readback.body["typed"] == ask.answers[0]


# ---------------------------------------------------------------- durations as people type them


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5:00", 300.0),
        ("1:30:00", 5400.0),
        ("5m", 300.0),
        ("300s", 300.0),
        ("5 min", 300.0),
        ("5 mins.", 300.0),
        ("1 hour 30 minutes", 5400.0),
        ("1 hr, 30 min", 5400.0),
        ("45 seconds", 45.0),
        ("250 ms", 0.25),
        ("1h30m", 5400.0),
    ],
)
def test_spoken_durations(text: str, seconds: float) -> None:
    assert parse_spoken_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "five", "5 apples", "m5", "5:7", "-5m", "5m then"])
def test_spoken_durations_that_are_not(text: str) -> None:
    with pytest.raises(DurationError, match="with a unit"):
        parse_spoken_duration(text)
