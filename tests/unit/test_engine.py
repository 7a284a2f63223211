"""The engine: every rule and refusal, and replay equals live state."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cockpit.durations import format_clock
from cockpit.engine import Event, Phase, Refusal, State, StepStatus, apply, confirm, decide, replay
from cockpit.engine import intents as i
from cockpit.engine.state import RollbackState
from cockpit.guide import next_action
from cockpit.journal.records import Actor
from cockpit.profile import load_profile
from cockpit.sample import Sample, Status

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_profile(ROOT / "profiles" / "demo.toml")
T = 1_800_000_000.0

OPERATOR = Actor("operator", "ada", "pts/1")
MONITOR = Actor("monitor", "grace", "pts/1")
APPROVER = Actor("approver", "carol", "pts/2")


@dataclass
class Sim:
    """A session driven by intents, as the cockpit does: decide, then apply each event."""

    profile_data: dict[str, Any]
    state: State = field(default_factory=State)
    events: list[Event] = field(default_factory=list)
    now: float = T

    def do(self, intent: i.Intent) -> list[Event]:
        events = decide(self.state, intent)
        for event in events:
            apply(self.state, event)
        self.events.extend(events)
        return events

    def refused(self, intent: i.Intent) -> str:
        before = copy.deepcopy(self.state)
        with pytest.raises(Refusal) as caught:
            decide(self.state, intent)
        assert self.state == before, "a refusal must not change the state"
        return caught.value.reason

    def phase(self) -> Phase:
        return self.state.phase

    def deployed(self) -> bool:
        return self.state.deployed_anything

    def step_status(self, index: int) -> StepStatus:
        return self.state.steps[index].status

    def rollback_state(self) -> RollbackState | None:
        return self.state.rollback

    def kinds(self, events: list[Event]) -> list[str]:
        return [e.kind for e in events]

    def at(self, seconds: float) -> float:
        self.now = T + seconds
        return self.now

    # -- helpers that walk the procedure
    def start(self, operator: str = "ada", monitor: str = "grace") -> None:
        self.do(
            i.StartSession(
                OPERATOR, self.now, self.profile_data, "abc", "demo.toml", operator, monitor
            )
        )

    def all_checks_pass(self) -> None:
        assert self.state.profile is not None
        for check in self.state.profile.checks:
            if check.manual is None:
                self.do(
                    i.RecordCheck(OPERATOR, self.now, sample(check.id, Status.PASS, 1.0, self.now))
                )
            else:
                actor = OPERATOR if check.manual.role == "operator" else MONITOR
                self.do(i.ConfirmManualCheck(actor, self.now, check.id))

    def metrics(self, status: Status = Status.PASS, value: float = 1.0) -> list[Event]:
        assert self.state.profile is not None
        out: list[Event] = []
        for metric in self.state.profile.metrics:
            out += self.do(
                i.RecordSample(OPERATOR, self.now, sample(metric.id, status, value, self.now))
            )
        return out

    def to_execution(self) -> None:
        self.start()
        assert self.state.profile is not None
        ask = confirm.readback_ask(self.state.profile)  # the trigger time, or a metric's id
        self.do(i.ConfirmReadback(MONITOR, self.now, typed=ask.answers[0] if ask else None))
        self.all_checks_pass()
        self.metrics()
        self.do(i.Go(OPERATOR, self.now))
        self.do(i.Go(MONITOR, self.now))

    def run_first_step(self, exit_code: int = 0) -> None:
        step = self.state.steps[0].id
        self.do(i.VerifyStep(MONITOR, self.now, step))
        self.do(i.RunStep(OPERATOR, self.now, step))
        self.do(i.ProcessStarted(OPERATOR, self.now, "step", step, 4242, 4242, "/tmp/out"))
        self.do(i.ProcessExited(OPERATOR, self.now, "step", step, exit_code))


def sample(id_: str, status: Status, value: float, at: float) -> Sample:
    return Sample(id_, status, value, "", at, "test")


def demo_data(**changes: Any) -> dict[str, Any]:
    data = DEMO.model_dump(mode="json")
    for dotted, value in changes.items():
        target = data
        *path, last = dotted.split("__")
        for key in path:
            target = target[key]
        target[last] = value
    return data


@pytest.fixture
def sim() -> Sim:
    return Sim(demo_data())


# ---------------------------------------------------------------- briefing and GO


def test_session_starts_in_briefing(sim: Sim) -> None:
    sim.start()
    assert sim.phase() is Phase.BRIEFING
    assert sim.state.crew == {"operator": "ada", "monitor": "grace"}


def test_two_person_rule_refuses_one_person_in_both_roles(sim: Sim) -> None:
    reason = sim.refused(
        i.StartSession(OPERATOR, T, sim.profile_data, "abc", "demo.toml", "ada", "Ada ")
    )
    assert "two-person rule" in reason


def test_one_person_may_hold_both_roles_when_the_rule_is_off() -> None:
    sim = Sim(demo_data(roles__two_person_rule=False))
    sim.start(operator="ada", monitor="ada")
    assert sim.phase() is Phase.BRIEFING


def test_go_before_readback_is_refused(sim: Sim) -> None:
    sim.start()
    sim.all_checks_pass()
    assert "reads back the rollback triggers" in sim.refused(i.Go(OPERATOR, T))


def test_readback_must_come_from_the_monitor(sim: Sim) -> None:
    sim.start()
    assert "only the Monitor" in sim.refused(i.ConfirmReadback(OPERATOR, T, typed="5m"))
    impostor = Actor("monitor", "ada", None)  # the Operator pressing the Monitor's key
    assert "two-person rule" in sim.refused(i.ConfirmReadback(impostor, T, typed="5m"))
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    assert sim.state.readback_by == "grace"
    assert sim.phase() is Phase.CHECKLIST


def test_go_while_a_check_is_red_or_unknown_is_refused(sim: Sim) -> None:
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    assert "not GREEN" in sim.refused(i.Go(OPERATOR, T))  # unknown: nothing measured yet
    sim.all_checks_pass()
    sim.metrics()
    sim.do(i.RecordCheck(OPERATOR, T, sample("cpu", Status.FAIL, 93.0, T)))
    reason = sim.refused(i.Go(OPERATOR, T))
    assert "CPU below 60%" in reason
    sim.do(i.RecordCheck(OPERATOR, T, sample("cpu", Status.PASS, 12.0, T)))
    sim.do(i.Go(OPERATOR, T))
    assert sim.state.go == {"operator": "ada"}


def test_manual_check_needs_its_role(sim: Sim) -> None:
    sim.start()
    assert "only the Operator" in sim.refused(i.ConfirmManualCheck(MONITOR, T, "runbook"))
    assert "automated" in sim.refused(i.ConfirmManualCheck(OPERATOR, T, "cpu"))


def test_go_needs_a_fresh_baseline(sim: Sim) -> None:
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    sim.all_checks_pass()
    assert "no baseline" in sim.refused(i.Go(OPERATOR, T))
    sim.metrics()
    assert "no baseline" in sim.refused(i.Go(OPERATOR, sim.at(60)))  # stale by then


def test_next_says_what_go_waits_for_and_go_agrees(sim: Sim) -> None:
    # NEXT and GO read the same rule: NEXT never invites a GO that would be refused.
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, sim.now, typed="5m"))
    sim.all_checks_pass()
    waiting = next_action(sim.state, sim.now)
    assert waiting.key is None
    assert "waiting for a fresh PASS of" in waiting.text
    assert "GO takes the baseline" in waiting.text
    assert "no baseline yet" in sim.refused(i.Go(OPERATOR, sim.now))
    sim.metrics(Status.FAIL)  # measured, but FAIL: still no baseline
    assert "waiting for a fresh PASS" in next_action(sim.state, sim.now).text
    sim.metrics()
    invited = next_action(sim.state, sim.now)
    assert (invited.role, invited.key) == ("operator", "g")
    sim.do(i.Go(OPERATOR, sim.now))
    stale = sim.at(60)  # a minute later the samples are stale: NEXT waits again, GO refuses
    assert "waiting for" in next_action(sim.state, stale).text
    assert "no baseline yet" in sim.refused(i.Go(MONITOR, stale))


def test_both_gos_start_execution_with_the_baseline(sim: Sim) -> None:
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    sim.all_checks_pass()
    sim.metrics(value=0.5)
    assert sim.kinds(sim.do(i.Go(OPERATOR, T))) == ["go"]
    assert "already given GO" in sim.refused(i.Go(OPERATOR, T))
    assert sim.kinds(sim.do(i.Go(MONITOR, T + 1))) == ["go", "execution.started"]
    assert sim.phase() is Phase.EXECUTING
    assert sim.state.t0 == T + 1
    assert sim.state.baseline["error-rate"] == 0.5


def test_nogo_holds_and_clears_the_gos(sim: Sim) -> None:
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    sim.all_checks_pass()
    sim.metrics()
    sim.do(i.Go(OPERATOR, T))
    sim.do(i.NoGo(MONITOR, T, "dashboard looks odd"))
    assert sim.state.hold is not None
    assert sim.state.go == {}
    assert "HOLD" in sim.refused(i.Go(MONITOR, T))


def test_abort_before_execution_only(sim: Sim) -> None:
    sim.to_execution()
    assert "roll back" in sim.refused(i.Abort(OPERATOR, T, "changed my mind"))
    other = Sim(demo_data())
    other.start()
    other.do(i.Abort(OPERATOR, T, "dependency missing"))
    assert other.phase() is Phase.ABORTED


# ---------------------------------------------------------------- execution


def test_step_needs_the_monitors_verification(sim: Sim) -> None:
    sim.to_execution()
    assert "not verified" in sim.refused(i.RunStep(OPERATOR, T, "deploy-v2"))
    assert "only the Monitor" in sim.refused(i.VerifyStep(OPERATOR, T, "deploy-v2"))
    sim.do(i.VerifyStep(MONITOR, T, "deploy-v2"))
    assert "only the Operator" in sim.refused(i.RunStep(MONITOR, T, "deploy-v2"))
    assert sim.kinds(sim.do(i.RunStep(OPERATOR, T, "deploy-v2"))) == ["step.starting"]
    assert "still running" in sim.refused(i.RunStep(OPERATOR, T, "deploy-v2"))


def test_step_refused_on_hold_and_allowed_after_resume(sim: Sim) -> None:
    sim.to_execution()
    sim.do(i.VerifyStep(MONITOR, T, "deploy-v2"))
    sim.do(i.Hold(MONITOR, T, "pager went off for another service"))
    assert "HOLD" in sim.refused(i.RunStep(OPERATOR, T, "deploy-v2"))
    assert "already on HOLD" in sim.refused(i.Hold(OPERATOR, T, "again"))
    sim.do(i.Resume(MONITOR, T + 30))
    assert sim.state.hold is None
    sim.do(i.RunStep(OPERATOR, T + 31, "deploy-v2"))
    assert sim.state.steps[0].status is StepStatus.STARTING


def test_hold_needs_a_reason(sim: Sim) -> None:
    sim.start()
    assert "reason" in sim.refused(i.Hold(OPERATOR, T, "  "))
    assert "not on HOLD" in sim.refused(i.Resume(OPERATOR, T))


def two_step_data() -> dict[str, Any]:
    data = demo_data()
    second = dict(data["stages"][0]["steps"][0])
    second.update(
        id="announce",
        title="Announce",
        approval="approver",
        irreversible=True,
        irreversible_policy="forward fix only",
    )
    data["stages"][0]["steps"].append(second)
    data["roles"]["approvers"] = ["carol"]
    return data


def test_next_step_waits_for_the_stop_point_then_gates() -> None:
    sim = Sim(two_step_data())
    sim.to_execution()
    sim.run_first_step()
    assert sim.state.window is not None
    sim.do(i.VerifyStep(MONITOR, sim.now, "announce"))
    assert "stop point is not GREEN" in sim.refused(i.RunStep(OPERATOR, sim.now, "announce"))
    for n in range(1, 4):
        sim.at(n)
        events = sim.metrics()
    assert "stop_point.passed" in sim.kinds(events)
    assert sim.state.steps[0].stop_point_passed
    assert "approval" in sim.refused(i.RunStep(OPERATOR, sim.now, "announce"))
    assert "cannot approve their own" in sim.refused(
        i.ApproveStep(Actor("approver", "ada", None), sim.now, "announce")
    )
    assert "not an approver" in sim.refused(
        i.ApproveStep(Actor("approver", "mallory", None), sim.now, "announce")
    )
    sim.do(i.ApproveStep(APPROVER, sim.now, "announce", typed="production"))
    assert "POINT OF NO RETURN" in sim.refused(i.RunStep(OPERATOR, sim.now, "announce"))
    sim.do(i.AcknowledgeIrreversible(OPERATOR, sim.now, "announce", typed="production"))
    sim.do(i.RunStep(OPERATOR, sim.now, "announce"))
    assert sim.state.steps[1].status is StepStatus.STARTING


def test_green_stop_point_of_last_step_opens_health_then_completes(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 4):
        sim.at(n)
        sim.metrics()
    assert sim.phase() is Phase.HEALTH
    duration = DEMO.health.duration
    for n in range(4, int(duration) + 5):
        sim.at(n)
        sim.metrics()
        sim.do(i.Tick(OPERATOR, sim.now))
    assert sim.phase() is Phase.COMPLETE


def test_failed_stop_point_advises_rollback_when_policy_is_prompt(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    kinds: list[str] = []
    for n in range(1, 5):
        sim.at(n)
        kinds += sim.kinds(sim.metrics(Status.FAIL, 8.0))
    assert "rollback.advised" in kinds
    assert kinds.count("rollback.advised") == 1
    assert sim.state.rollback is None
    assert sim.state.advisory is not None and "FAILED" in sim.state.advisory


def test_failed_stop_point_rolls_back_when_policy_is_automatic() -> None:
    sim = Sim(demo_data(rollback__on_failed_stop_point="automatic"))
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 5):
        sim.at(n)
        sim.metrics(Status.FAIL, 8.0)
    assert sim.state.rollback is not None
    assert sim.state.rollback.automatic
    assert "FAILED" in sim.state.rollback.reason


def test_errors_beyond_the_limit_fail_the_stop_point() -> None:
    sim = Sim(demo_data(rollback__on_failed_stop_point="automatic"))
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 5):  # 4 errors in a row: at the limit, not beyond
        sim.at(n)
        sim.metrics(Status.ERROR, 0.0)
    assert sim.state.rollback is None
    sim.at(5)
    sim.metrics(Status.ERROR, 0.0)
    rollback = sim.rollback_state()
    assert rollback is not None
    assert "errors in a row" in rollback.reason


def test_inconclusive_holds_for_the_monitor(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.at(1)
    sim.metrics(Status.INCONCLUSIVE, 0.0)
    assert sim.state.window_verdict(sim.now) is not None
    assert sim.state.window_verdict(sim.now).value == "INCONCLUSIVE"  # type: ignore[union-attr]
    assert "only the Monitor" in sim.refused(i.AcceptInconclusive(OPERATOR, sim.now, "fine"))
    events = sim.do(i.AcceptInconclusive(MONITOR, sim.now, "dashboards agree it is fine"))
    assert "stop_point.passed" in sim.kinds(events)


def test_failed_step_advises_rollback(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step(exit_code=3)
    assert sim.state.steps[0].status is StepStatus.FAILED
    assert sim.state.advisory is not None and "exit status 3" in sim.state.advisory


# ---------------------------------------------------------------- the 5-minute rule


def test_five_minute_rule_rolls_back_automatically(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    ended = sim.now
    trigger = DEMO.briefing.contingency.trigger_time
    assert sim.state.trigger_deadline() == ended + trigger
    assert sim.do(i.Tick(OPERATOR, ended + trigger - 1)) == []
    events = sim.do(i.Tick(OPERATOR, ended + trigger))
    assert sim.kinds(events) == ["rollback.started"]
    assert events[0].actor.role == "cockpit"
    assert sim.state.rollback is not None and sim.state.rollback.automatic
    reason = sim.state.rollback.reason
    assert reason.startswith(f"trigger time ({format_clock(trigger)}) passed: not GREEN by T+")


def test_five_minute_rule_only_advises_when_policy_is_prompt() -> None:
    sim = Sim(demo_data(rollback__on_trigger_time="prompt"))
    sim.to_execution()
    sim.run_first_step()
    deadline = sim.state.trigger_deadline()
    assert deadline is not None
    assert sim.kinds(sim.do(i.Tick(OPERATOR, deadline))) == ["rollback.advised"]
    assert sim.do(i.Tick(OPERATOR, deadline + 1)) == []
    assert sim.state.rollback is None


def test_green_stop_point_stops_the_countdown(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 4):
        sim.at(n)
        sim.metrics()
    assert sim.state.trigger_deadline() is None
    sim.do(i.Tick(OPERATOR, sim.at(400)))
    assert sim.state.rollback is None


# ---------------------------------------------------------------- rollback


def test_rollback_before_anything_deployed_is_refused(sim: Sim) -> None:
    sim.to_execution()
    assert "nothing has been deployed" in sim.refused(i.RollBackNow(OPERATOR, T))


def test_rollback_runs_and_verifies_against_the_baseline(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.at(1)
    sim.metrics(Status.FAIL, 8.0)
    events = sim.do(i.RollBackNow(MONITOR, sim.now, "error rate RED"))
    assert sim.kinds(events) == ["rollback.started"]
    assert "already rolling back" in sim.refused(i.RollBackNow(OPERATOR, sim.now))
    sim.do(i.ProcessStarted(OPERATOR, sim.now, "rollback", "0", 99, 99, "/tmp/rb"))
    events = sim.do(i.ProcessExited(OPERATOR, sim.now, "rollback", "0", 0))
    assert sim.kinds(events) == ["rollback.command_finished", "rollback.verifying"]
    assert sim.phase() is Phase.VERIFYING
    # Back to the baseline (1.0) within tolerance: three fresh passes verify it.
    kinds: list[str] = []
    for n in range(2, 5):
        sim.at(n)
        kinds += sim.kinds(sim.metrics(Status.PASS, 1.2))
    assert "rollback.verified" in kinds
    assert sim.phase() is Phase.ROLLED_BACK


def test_rollback_not_verified_names_what_differs(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.do(i.RollBackNow(OPERATOR, sim.now))
    sim.do(i.ProcessStarted(OPERATOR, sim.now, "rollback", "0", 99, 99, "/tmp/rb"))
    sim.do(i.ProcessExited(OPERATOR, sim.now, "rollback", "0", 0))
    started = sim.now
    for n in range(1, 10):
        sim.at(n)
        sim.metrics(Status.PASS, 1.9)  # PASSes the threshold but is far from baseline 1.0
    assert sim.phase() is Phase.VERIFYING
    within = DEMO.rollback.verify.within
    events = sim.do(i.Tick(OPERATOR, started + within))
    assert sim.kinds(events) == ["rollback.not_verified"]
    assert sim.phase() is Phase.NOT_VERIFIED
    assert sim.state.rollback is not None
    # Which condition failed, not just the numbers: the baseline, and a stale last sample.
    assert sim.state.rollback.differences == [
        "error-rate: last 1.9 %: not back at its baseline: needs ≤ 1.5 % (the baseline 1 % + 0.5);"
        " no fresh sample for 36 s"
    ]


def test_failed_rollback_command_is_not_verified(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.do(i.RollBackNow(OPERATOR, sim.now))
    events = sim.do(i.ProcessExited(OPERATOR, sim.now, "rollback", "0", 1))
    assert sim.kinds(events) == ["rollback.command_finished", "rollback.not_verified"]
    assert sim.state.rollback is not None
    assert "exit status 1" in sim.state.rollback.differences[0]


def test_rollback_clears_a_hold(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.do(i.Hold(OPERATOR, sim.now, "looking"))
    sim.do(i.RollBackNow(OPERATOR, sim.now))
    assert sim.state.hold is None
    assert "rollback is running" in sim.refused(i.Hold(OPERATOR, sim.now, "x"))


def test_nothing_happens_after_the_end(sim: Sim) -> None:
    sim.start()
    sim.do(i.Abort(OPERATOR, T, "no"))
    assert "ended" in sim.refused(i.Hold(OPERATOR, T, "x"))
    assert "ended" in sim.refused(i.RollBackNow(OPERATOR, T))


# ---------------------------------------------------------------- replay


def test_replay_reproduces_the_live_state_exactly() -> None:
    sim = Sim(two_step_data())
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 4):
        sim.at(n)
        sim.metrics()
    sim.do(i.Hold(MONITOR, sim.now, "checking logs"))
    sim.do(i.Resume(MONITOR, sim.at(10)))
    sim.do(i.VerifyStep(MONITOR, sim.now, "announce"))
    sim.do(i.ApproveStep(APPROVER, sim.now, "announce", typed="production"))
    sim.do(i.AcknowledgeIrreversible(OPERATOR, sim.now, "announce", typed="production"))
    sim.do(i.RunStep(OPERATOR, sim.now, "announce"))
    sim.do(i.ProcessStarted(OPERATOR, sim.now, "step", "announce", 7, 7, "/tmp/o2"))
    sim.do(i.ProcessExited(OPERATOR, sim.at(12), "step", "announce", 0))
    for n in range(13, 16):
        sim.at(n)
        sim.metrics(Status.FAIL, 9.0)
    sim.do(i.RollBackNow(OPERATOR, sim.now, "RED"))
    sim.do(i.ProcessStarted(OPERATOR, sim.now, "rollback", "0", 8, 8, "/tmp/rb"))
    sim.do(i.ProcessExited(OPERATOR, sim.at(17), "rollback", "0", 0))
    for n in range(18, 22):
        sim.at(n)
        sim.metrics()
    assert sim.phase() is Phase.ROLLED_BACK
    assert replay(sim.events) == sim.state
    # And replay of a prefix differs (the comparison can fail).
    assert replay(sim.events[:-1]) != sim.state


def test_the_verified_command_is_the_one_the_monitor_saw(sim: Sim) -> None:
    sim.to_execution()
    seen = ("cockpit", "demo-ctl", "deploy", "v2", "--state", "/srv/demo")
    events = sim.do(i.VerifyStep(MONITOR, T, "deploy-v2", seen))
    assert events[0].body["command"] == list(seen)


def test_go_refuses_a_check_that_passed_too_long_ago(sim: Sim) -> None:
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    sim.all_checks_pass()
    valid_for = DEMO.checks_valid_for
    later = T + valid_for + 1
    for metric in DEMO.metrics:  # fresh metrics, so only the checks' age is at stake
        sim.do(i.RecordSample(OPERATOR, later, sample(metric.id, Status.PASS, 1.0, later)))
    reason = sim.refused(i.Go(OPERATOR, later))
    assert "not GREEN" in reason
    assert "CPU below 60%" in reason


def test_five_minute_rule_also_counts_after_a_failed_step(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step(exit_code=2)
    failed = sim.now
    trigger = DEMO.briefing.contingency.trigger_time
    assert sim.state.trigger_deadline() == failed + trigger
    assert sim.do(i.Tick(OPERATOR, failed + trigger - 1)) == []
    events = sim.do(i.Tick(OPERATOR, failed + trigger))
    assert sim.kinds(events) == ["rollback.started"]
    rollback = sim.rollback_state()
    assert rollback is not None
    assert "a step failed" in rollback.reason


# ---------------------------------------------------------------- loops and reconciling


def test_a_failing_loop_is_recorded_once_a_minute_and_recovers(sim: Sim) -> None:
    sim.to_execution()
    failed = sim.do(i.RecordLoopHealth(OPERATOR, sim.at(10), "clock", "ValueError: x"))
    assert sim.kinds(failed) == ["loop.failed"]
    assert failed[0].body["duty"].startswith("the trigger-time rule")
    assert sim.do(i.RecordLoopHealth(OPERATOR, sim.at(69), "clock", "ValueError: x")) == []
    again = sim.do(i.RecordLoopHealth(OPERATOR, sim.at(71), "clock", "ValueError: x"))
    assert sim.kinds(again) == ["loop.failed"]  # a minute on, still failing: said again
    other = sim.do(i.RecordLoopHealth(OPERATOR, sim.at(72), "clock", "KeyError: y"))
    assert sim.kinds(other) == ["loop.failed"]  # a different failure is news at once
    assert sim.state.loops["clock"].since == T + 10
    assert not sim.state.loops["clock"].stopped
    recovered = sim.do(i.RecordLoopHealth(OPERATOR, sim.at(73), "clock"))
    assert sim.kinds(recovered) == ["loop.recovered"]
    assert sim.state.loops == {}
    assert sim.do(i.RecordLoopHealth(OPERATOR, sim.at(74), "clock")) == []


def test_a_stopped_loop_stays_stopped_until_it_works_again(sim: Sim) -> None:
    sim.to_execution()
    stopped = sim.do(i.RecordLoopHealth(OPERATOR, sim.at(1), "probes", "boom", stopped=True))
    assert sim.kinds(stopped) == ["loop.stopped"]
    assert sim.do(i.RecordLoopHealth(OPERATOR, sim.at(2), "probes", "boom", stopped=True)) == []
    assert sim.do(i.RecordLoopHealth(OPERATOR, sim.at(200), "probes", "later")) == []
    assert sim.state.loops["probes"].stopped
    assert sim.kinds(sim.do(i.RecordLoopHealth(OPERATOR, sim.at(3), "probes"))) == [
        "loop.recovered"
    ]
    # A resumed cockpit runs loops of its own: the old faults are gone with the old process.
    sim.do(i.RecordLoopHealth(OPERATOR, sim.at(4), "clock", "boom", stopped=True))
    apply(sim.state, Event("session.resumed", {}, OPERATOR, sim.at(5)))
    assert sim.state.loops == {}


def test_a_step_that_never_started_goes_back_to_pending(sim: Sim) -> None:
    sim.to_execution()
    step = sim.state.steps[0].id
    sim.do(i.VerifyStep(MONITOR, sim.now, step))
    sim.do(i.RunStep(OPERATOR, sim.now, step))
    assert sim.step_status(0) is StepStatus.STARTING
    assert sim.deployed()
    sim.do(i.MarkNotStarted(OPERATOR, sim.now, step, "never started"))
    assert sim.step_status(0) is StepStatus.PENDING
    assert not sim.deployed()  # nothing ran: R has nothing to undo
    assert "was not starting" in sim.refused(i.MarkNotStarted(OPERATOR, sim.now, step, "again"))
    sim.do(i.RunStep(OPERATOR, sim.now, step))  # the crew decides: run it after all
    started = sim.do(
        i.ProcessStarted(OPERATOR, sim.now, "step", step, 7, 7, "/tmp/out", found="running")
    )
    assert started[0].body["found"] == "running"
    assert sim.state.steps[0].status is StepStatus.RUNNING


def test_the_start_records_the_command_as_it_runs_and_as_verified(sim: Sim) -> None:
    sim.to_execution()
    step = sim.state.steps[0].id
    resolved = ("deploy.sh", "--stack", "/srv/rs-7")  # ${var:RS_STACK} resolved
    sim.do(i.VerifyStep(MONITOR, sim.now, step, resolved))
    other = ("deploy.sh", "--stack", "/srv/elsewhere")
    reason = sim.refused(i.RunStep(OPERATOR, sim.now, step, other))
    assert "not the command the Monitor verified" in reason
    started = sim.do(i.RunStep(OPERATOR, sim.now, step, resolved))
    assert started[0].body["command"] == list(resolved)
