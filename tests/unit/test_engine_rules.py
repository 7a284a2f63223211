"""Engine rules that a one-token change could break without test_engine.py noticing.

Each test pins a rule that a mutant broke while every test still passed (``make mutation``);
the first ones are the examples confirmed in issue 7, section 9.
"""

from __future__ import annotations

import copy

import pytest

from cockpit.engine import Phase, Verdict, apply, decide
from cockpit.engine import intents as i
from cockpit.sample import Status
from tests.unit.test_engine import (
    APPROVER,
    DEMO,
    MONITOR,
    OPERATOR,
    Sim,
    T,
    demo_data,
    sample,
    two_step_data,
)


@pytest.fixture
def sim() -> Sim:
    return Sim(demo_data())


TRIGGER = DEMO.briefing.contingency.trigger_time
HEALTH = DEMO.health.duration


def to_health(sim: Sim) -> float:
    """Run the only step and pass its stop point; the health window's start."""
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 4):
        sim.at(n)
        sim.metrics()
    assert sim.phase() is Phase.HEALTH
    assert sim.state.health_started is not None
    return sim.state.health_started


def one(sim: Sim, metric_id: str, status: Status, value: float) -> list[str]:
    """Record one sample of one metric now; the kinds of the events it made."""
    return sim.kinds(
        sim.do(i.RecordSample(OPERATOR, sim.now, sample(metric_id, status, value, sim.now)))
    )


# ---------------------------------------------------------------- the confirmed examples


def test_the_monitor_cannot_accept_a_stop_point_that_is_still_pending(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()  # the step exited a moment ago: no sample yet
    assert sim.state.window_verdict(sim.now) is Verdict.PENDING
    assert "only an INCONCLUSIVE" in sim.refused(i.AcceptInconclusive(MONITOR, sim.now, "fine"))
    assert sim.phase() is Phase.EXECUTING
    assert sim.state.health_started is None


def test_no_step_is_verified_or_run_before_both_gos(sim: Sim) -> None:
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    sim.all_checks_pass()
    sim.metrics()
    for intent in (i.VerifyStep(MONITOR, T, "deploy-v2"), i.RunStep(OPERATOR, T, "deploy-v2")):
        assert "only possible during execution (now CHECKLIST)" in sim.refused(intent)
    sim.do(i.Go(OPERATOR, T))  # one GO is not enough either
    assert "only possible during execution" in sim.refused(i.VerifyStep(MONITOR, T, "deploy-v2"))
    assert all(s.verified_by is None for s in sim.state.steps)


def test_the_health_window_does_not_complete_early_after_a_fail(sim: Sim) -> None:
    started = to_health(sim)
    sim.at(8)  # 5 s into the 30 s window
    one(sim, "error-rate", Status.FAIL, 8.0)
    assert sim.do(i.Tick(OPERATOR, sim.now)) == []
    assert sim.phase() is Phase.HEALTH
    assert started + HEALTH > sim.now


def test_the_health_window_completes_only_when_over_green_and_not_held(sim: Sim) -> None:
    started = to_health(sim)
    end = started + HEALTH
    for n in range(4, int(end - T)):  # a fresh PASS every second up to a second before the end
        sim.at(n)
        sim.metrics()
    assert sim.state.window_verdict(end - 1) is Verdict.GREEN
    assert sim.do(i.Tick(OPERATOR, end - 1)) == []  # GREEN, but not over yet
    # Over, GREEN, but on HOLD: the crew is looking at something.
    sim.do(i.Hold(MONITOR, end - 1, "checking a dashboard"))
    sim.at(end - T)
    sim.metrics()
    assert sim.state.window_verdict(end) is Verdict.GREEN
    assert sim.do(i.Tick(OPERATOR, end)) == []
    sim.do(i.Resume(MONITOR, end))
    assert sim.kinds(sim.do(i.Tick(OPERATOR, end))) == ["session.complete"]
    assert sim.phase() is Phase.COMPLETE


def test_the_health_window_does_not_complete_when_over_but_not_green(sim: Sim) -> None:
    started = to_health(sim)
    end = started + HEALTH
    for n in range(4, 7):
        sim.at(n)
        sim.metrics()
    sim.at(end - T)
    one(sim, "p99", Status.FAIL, 900.0)
    assert sim.state.window_verdict(end) is Verdict.PENDING
    assert sim.do(i.Tick(OPERATOR, end)) == []
    assert sim.phase() is Phase.HEALTH


def test_a_health_window_that_is_not_green_starts_the_countdown(sim: Sim) -> None:
    to_health(sim)
    for n in range(4, 7):
        sim.at(n)
        assert "window.not_green" not in sim.kinds(sim.metrics())
    assert sim.state.trigger_deadline() is None
    sim.at(7)
    assert one(sim, "error-rate", Status.FAIL, 8.0) == ["sample", "window.not_green"]
    assert sim.state.trigger_deadline() == T + 7 + TRIGGER
    # Not GREEN already: no second event.
    sim.at(8)
    assert one(sim, "error-rate", Status.FAIL, 8.0) == ["sample"]
    events = sim.do(i.Tick(OPERATOR, T + 7 + TRIGGER))
    assert sim.kinds(events) == ["rollback.started"]
    assert "the health window went RED" in events[0].body["reason"]


def test_a_health_window_back_to_green_stops_the_countdown(sim: Sim) -> None:
    to_health(sim)
    for n in range(4, 7):
        sim.at(n)
        sim.metrics()
    sim.at(7)
    one(sim, "error-rate", Status.FAIL, 8.0)
    kinds: list[str] = []
    for n in range(8, 11):
        sim.at(n)
        kinds += sim.kinds(sim.metrics())
    assert kinds.count("window.green") == 1
    assert sim.state.trigger_deadline() is None


def test_a_fresh_health_window_is_not_judged_before_enough_samples(sim: Sim) -> None:
    to_health(sim)
    sim.at(4)
    # The first sample of the window FAILs, but error-rate needs 3 samples to be judged.
    assert one(sim, "error-rate", Status.FAIL, 8.0) == ["sample"]
    assert sim.state.trigger_deadline() is None


@pytest.mark.parametrize("policy", ["automatic", "prompt"])
def test_a_failed_health_window_follows_the_failure_policy(policy: str) -> None:
    sim = Sim(demo_data(rollback__on_failed_stop_point=policy))
    to_health(sim)
    kinds: list[str] = []
    for n in range(4, 7):
        sim.at(n)
        kinds += sim.kinds(sim.metrics(Status.FAIL, 8.0))
    expected = "rollback.started" if policy == "automatic" else "rollback.advised"
    assert kinds.count(expected) == 1
    reason = sim.state.rollback.reason if sim.state.rollback else sim.state.advisory
    assert reason == "health window FAILED: Readiness probe latency 1 failed samples (limit 0)"


# ---------------------------------------------------------------- briefing, GO, abort


def test_the_two_person_rule_holds_when_the_profile_does_not_mention_it() -> None:
    data = demo_data()
    del data["roles"]["two_person_rule"]
    sim = Sim(data)
    reason = sim.refused(i.StartSession(OPERATOR, T, data, "abc", "demo.toml", "ada", "ada"))
    assert "two-person rule" in reason


def test_a_baseline_exactly_as_old_as_the_staleness_is_fresh(sim: Sim) -> None:
    sim.start()
    sim.do(i.ConfirmReadback(MONITOR, T, typed="5m"))
    sim.all_checks_pass()
    sim.metrics(value=0.5)
    staleness = DEMO.metric("error-rate").staleness
    sim.do(i.Go(OPERATOR, T + staleness))
    events = sim.do(i.Go(MONITOR, T + staleness))
    assert sim.kinds(events) == ["go", "execution.started"]
    assert events[1].body["baseline"]["error-rate"] == 0.5


def test_abort_records_its_reason_or_says_it_was_before_execution(sim: Sim) -> None:
    sim.start()
    events = sim.do(i.Abort(OPERATOR, T, ""))
    assert events[0].body["reason"] == "aborted before execution"
    other = Sim(demo_data())
    other.start()
    assert other.do(i.Abort(OPERATOR, T, "no DBA"))[0].body["reason"] == "no DBA"


# ---------------------------------------------------------------- steps and processes


def test_the_acknowledgement_records_the_irreversible_policy() -> None:
    sim = Sim(two_step_data())
    to_stop_point_green(sim)
    sim.do(i.ApproveStep(APPROVER, sim.now, "announce", typed="production"))
    events = sim.do(i.AcknowledgeIrreversible(OPERATOR, sim.now, "announce", typed="production"))
    assert events[0].body == {
        "step": "announce",
        "policy": "forward fix only",
        "typed": "production",
        "question": "Step 'announce' is a POINT OF NO RETURN (forward fix only). To acknowledge"
        " it, type the environment's name: production",
    }
    assert sim.state.steps[1].irreversible_ack_by == "ada"


def to_stop_point_green(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 4):
        sim.at(n)
        sim.metrics()


@pytest.mark.parametrize(
    ("exited", "why"),
    [
        (
            {"exit_code": None, "error": "cannot execute: no such file"},
            "cannot execute: no such file",
        ),
        ({"exit_code": None, "timed_out": True, "duration": 60.0}, "timed out after 60s"),
        ({"exit_code": None, "signal": 9}, "killed by signal 9"),
        ({"exit_code": 3}, "exit status 3"),
    ],
)
def test_a_failed_step_says_why(sim: Sim, exited: dict[str, object], why: str) -> None:
    sim.to_execution()
    sim.do(i.VerifyStep(MONITOR, T, "deploy-v2"))
    sim.do(i.RunStep(OPERATOR, T, "deploy-v2"))
    events = sim.do(i.ProcessExited(OPERATOR, T, "step", "deploy-v2", **exited))  # type: ignore[arg-type]
    assert sim.kinds(events) == ["step.finished", "rollback.advised"]
    assert events[0].body["why"] == why and events[0].body["ok"] is False
    assert sim.state.advisory == f"step deploy-v2 failed: {why}"


def test_a_step_that_ends_during_a_rollback_is_only_recorded(sim: Sim) -> None:
    sim.to_execution()
    sim.do(i.VerifyStep(MONITOR, T, "deploy-v2"))
    sim.do(i.RunStep(OPERATOR, T, "deploy-v2"))
    sim.do(i.ProcessStarted(OPERATOR, T, "step", "deploy-v2", 7, 7, "/tmp/o"))
    sim.do(i.RollBackNow(OPERATOR, T + 1, "looks wrong"))
    for code in (0, 1):
        other = copy_of(sim)
        events = other.do(i.ProcessExited(OPERATOR, T + 2, "step", "deploy-v2", code))
        assert other.kinds(events) == ["step.finished"]
        assert other.state.advisory is None
        assert not other.state.steps[0].stop_point_passed
        assert other.state.window is None  # no STOP POINT beside ROLLING BACK on the screen


def copy_of(sim: Sim) -> Sim:
    return copy.deepcopy(sim)


def test_a_step_without_stop_point_metrics_passes_at_once() -> None:
    data = demo_data()
    data["stages"][0]["steps"][0]["stop_point"] = []
    sim = Sim(data)
    sim.to_execution()
    step = "deploy-v2"
    sim.do(i.VerifyStep(MONITOR, T, step))
    sim.do(i.RunStep(OPERATOR, T, step))
    events = sim.do(i.ProcessExited(OPERATOR, T, "step", step, 0))
    assert sim.kinds(events) == ["step.finished", "stop_point.passed", "health.started"]
    assert events[1].body == {"step": step, "how": "no stop-point metrics"}
    assert sim.phase() is Phase.HEALTH


# ---------------------------------------------------------------- samples in a window


def test_a_sample_measured_as_the_window_opens_counts(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()  # the window opens now
    kinds: list[str] = []
    for n in range(3):  # at +0, +1, +2: three passes, the first one on the opening instant
        sim.at(n)
        kinds += sim.kinds(sim.metrics())
    assert "stop_point.passed" in kinds


def test_a_sample_measured_before_the_window_opened_does_not_count(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    for n in range(1, 3):
        sim.at(n)
        sim.metrics()
    before = sim.now - 10
    for metric in DEMO.metrics:
        sim.do(i.RecordSample(OPERATOR, sim.now, sample(metric.id, Status.PASS, 1.0, before)))
    assert sim.state.window is not None  # still two passes: not GREEN
    assert sim.state.window.counters["error-rate"].samples == 2


def test_a_failed_stop_point_names_the_step_and_the_metric(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.at(1)
    one(sim, "ready", Status.FAIL, 900.0)
    assert sim.state.advisory == (
        "stop point of deploy-v2 FAILED: Readiness probe latency 1 failed samples (limit 0)"
    )


def test_accepting_an_inconclusive_health_window_keeps_it_open_and_green(sim: Sim) -> None:
    started = to_health(sim)
    sim.at(4)
    sim.metrics(Status.INCONCLUSIVE, 0.0)
    assert sim.state.window_verdict(sim.now) is Verdict.INCONCLUSIVE
    events = sim.do(i.AcceptInconclusive(MONITOR, sim.now, "the latency probe is flaky"))
    assert sim.kinds(events) == ["stop_point.accepted"]
    assert sim.phase() is Phase.HEALTH
    assert sim.state.window is not None and sim.state.window.accepted_by == "grace"
    assert sim.kinds(sim.do(i.Tick(OPERATOR, started + HEALTH))) == ["session.complete"]


# ---------------------------------------------------------------- the 5-minute rule


def test_the_five_minute_rule_names_what_is_not_green(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    deadline = sim.now + TRIGGER
    for n in (2, 1, 0):
        sim.now = deadline - n
        for metric in ("error-rate", "p99", "ready"):
            one(sim, metric, Status.PASS, 1.0)
    events = sim.do(i.Tick(OPERATOR, deadline))
    reason = events[0].body["reason"]
    assert reason.startswith(
        "trigger time (05:00) passed: not GREEN by T+05:00 (05:00 after the step ended)"
    )
    assert reason.endswith(": throughput no sample yet")


def test_the_five_minute_rule_counts_t_plus_from_the_go(sim: Sim) -> None:
    sim.to_execution()  # T0 = T
    sim.at(20)
    sim.run_first_step()
    events = sim.do(i.Tick(OPERATOR, T + 20 + TRIGGER))
    assert "not GREEN by T+05:20 " in events[0].body["reason"]


# ---------------------------------------------------------------- hold and rollback


def test_resume_records_how_long_the_hold_lasted(sim: Sim) -> None:
    sim.to_execution()
    sim.do(i.Hold(MONITOR, T + 10, "pager"))
    events = sim.do(i.Resume(MONITOR, T + 40))
    assert events[0].body == {"held_for": 30.0}


def test_rollback_now_is_a_person_s_decision(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    events = sim.do(i.RollBackNow(MONITOR, sim.now, "error rate RED"))
    assert events[0].actor == MONITOR
    assert events[0].body == {"automatic": False, "reason": "error rate RED", "commands": 1}
    assert sim.state.rollback is not None and sim.state.rollback.by == "grace"


def rolled_back_command(sim: Sim) -> float:
    """Roll back now and let the command finish: verification starts; its start time."""
    sim.to_execution()
    sim.run_first_step()
    sim.do(i.RollBackNow(OPERATOR, sim.now))
    sim.do(i.ProcessStarted(OPERATOR, sim.now, "rollback", "0", 99, 99, "/tmp/rb"))
    sim.do(i.ProcessExited(OPERATOR, sim.now, "rollback", "0", 0))
    assert sim.state.rollback is not None and sim.state.rollback.verify_started is not None
    return sim.state.rollback.verify_started


def test_verification_time_runs_from_the_end_of_the_rollback_command(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.do(i.RollBackNow(OPERATOR, sim.now))
    # The command is still running, long past the verification time: no verdict yet.
    within = DEMO.rollback.verify.within
    assert sim.do(i.Tick(OPERATOR, sim.now + 10 * within)) == []
    assert sim.phase() is Phase.ROLLING_BACK


def test_verification_gives_up_only_when_its_time_is_over(sim: Sim) -> None:
    started = rolled_back_command(sim)
    within = DEMO.rollback.verify.within
    assert sim.do(i.Tick(OPERATOR, started + within - 1)) == []
    assert sim.kinds(sim.do(i.Tick(OPERATOR, started + within))) == ["rollback.not_verified"]


def test_a_sample_measured_as_verification_starts_counts(sim: Sim) -> None:
    started = rolled_back_command(sim)
    kinds: list[str] = []
    for n in range(3):
        kinds += sim.kinds(sim.metrics())
        sim.at(started - T + n + 1)
    assert "rollback.verified" in kinds


def test_not_verified_names_only_the_metrics_that_are_not_back(sim: Sim) -> None:
    started = rolled_back_command(sim)
    for n in range(3):
        sim.at(started - T + n)
        one(sim, "error-rate", Status.PASS, 1.0)  # back at its baseline
        one(sim, "p99", Status.PASS, 1.0)
        one(sim, "ready", Status.PASS, 200.0)  # baseline 1 ± 50: not back
    sim.do(i.Tick(OPERATOR, started + DEMO.rollback.verify.within))
    assert sim.state.rollback is not None
    assert sim.state.rollback.differences == [
        "ready: last 200 ms: not back at its baseline: needs ≤ 51 ms (the baseline 1 ms + 50);"
        " no fresh sample for 43 s"
    ]


def test_a_snapshot_is_recorded_with_the_rollback(sim: Sim) -> None:
    sim.to_execution()
    sim.run_first_step()
    sim.do(i.RollBackNow(OPERATOR, sim.now))
    events = sim.do(i.RecordSnapshot(OPERATOR, sim.now, {"error-rate": 8.0}, ["line"]))
    assert sim.kinds(events) == ["rollback.snapshot"]
    assert events[0].body == {"metrics": {"error-rate": 8.0}, "output": ["line"]}
    assert sim.state.rollback is not None
    assert sim.state.rollback.snapshot == {"metrics": {"error-rate": 8.0}, "output": ["line"]}


def test_a_sample_measured_as_the_stop_point_opens_is_judged_at_once() -> None:
    sim = Sim(demo_data())
    for metric in sim.profile_data["metrics"]:
        metric["pass_count"] = 1
    sim.to_execution()
    sim.run_first_step()  # the window opens at sim.now
    kinds = sim.kinds(sim.metrics())  # every metric passes, measured at that very instant
    assert kinds[-2:] == ["stop_point.passed", "health.started"]


def test_a_sample_measured_as_verification_starts_is_judged_at_once() -> None:
    sim = Sim(demo_data())
    for metric in sim.profile_data["metrics"]:
        metric["pass_count"] = 1
    started = rolled_back_command(sim)
    assert sim.now == started
    kinds = sim.kinds(sim.metrics())
    assert "rollback.verified" in kinds
    assert sim.phase() is Phase.ROLLED_BACK


def test_an_immediate_trigger_time_fires_at_t_zero() -> None:
    sim = Sim(demo_data(briefing__contingency__trigger_time="0s"))
    sim.to_execution()
    sim.run_first_step(exit_code=1)  # at T0: the step failed at once
    events = sim.do(i.Tick(OPERATOR, T))
    assert (
        events[0]
        .body["reason"]
        .startswith("trigger time (00:00) passed: not GREEN by T+00:00 (00:00 after")
    )


@pytest.mark.parametrize("exit_code", [0, 3], ids=["ok", "failed"])
def test_a_rollback_commands_end_recorded_alone_is_carried_out_on_the_next_tick(
    sim: Sim, exit_code: int
) -> None:
    """A cockpit killed between a decision's records (the last command's end, then verifying
    or NOT VERIFIED) resumes with only the first: the next tick decides the rest."""
    sim.to_execution()
    sim.run_first_step()
    sim.do(i.RollBackNow(OPERATOR, sim.now))
    sim.do(i.ProcessStarted(OPERATOR, sim.now, "rollback", "0", 99, 99, "/tmp/rb"))
    ended = decide(sim.state, i.ProcessExited(OPERATOR, sim.now, "rollback", "0", exit_code))
    apply(sim.state, ended[0])  # only the first record reached the journal
    before = sim.state.phase
    (event,) = sim.do(i.Tick(OPERATOR, sim.now + 1))
    assert event.kind == ended[1].kind
    after = {0: Phase.VERIFYING, 3: Phase.NOT_VERIFIED}[exit_code]
    assert (before, sim.state.phase) == (Phase.ROLLING_BACK, after)
    if exit_code:
        assert event.body["differences"] == ["rollback command 1 failed: exit status 3"]
    assert sim.do(i.Tick(OPERATOR, sim.now + 2)) == []  # once
