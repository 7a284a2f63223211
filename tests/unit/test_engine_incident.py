"""The engine in an incident: T0 at the declaration, R never refused before a rollback ran,
the Monitor's readback and verification beside R, checks that inform, the trigger-time rule
from T0, and verification, stabilization and mitigation after the rollback."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.engine import SYSTEM, Phase, replay
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.engine.state import SessionKind
from cockpit.sample import Status
from tests.unit.test_engine import DEMO, MONITOR, OPERATOR, Sim, T, demo_data, sample

CREW = OPERATOR  # R is a crew key; the actor names who pressed it


def start_incident(sim: Sim, baseline_at: float | None = None) -> None:
    sim.do(
        i.StartSession(
            OPERATOR,
            sim.now,
            sim.profile_data,
            "abc",
            "demo.toml",
            "ada",
            "grace",
            kind="incident",
            baseline_at=baseline_at,
        )
    )


@pytest.fixture
def incident() -> Sim:
    sim = Sim(demo_data())
    start_incident(sim)
    return sim


def metrics(sim: Sim, status: Status, value: float = 1.0, ids: list[str] | None = None) -> None:
    for metric_id in ids or [m.id for m in DEMO.metrics]:
        sim.do(i.RecordSample(OPERATOR, sim.now, sample(metric_id, status, value, sim.now)))


def roll_back_and_finish_commands(sim: Sim) -> None:
    if sim.state.incident is not None and sim.state.incident.baseline is None:
        sim.do(i.TakeBaseline(SYSTEM, sim.now))  # no history: every metric by its threshold
    sim.do(i.RollBackNow(CREW, sim.now, "R pressed"))
    sim.do(i.ProcessStarted(OPERATOR, sim.now, "rollback", "0", 8, 8, "/tmp/rb"))
    sim.do(i.ProcessExited(OPERATOR, sim.at(sim.now - T + 2), "rollback", "0", 0))
    assert sim.phase() is Phase.VERIFYING


# ---------------------------------------------------------------- the declaration


def test_the_declaration_is_t0_and_the_session_says_it_is_an_incident(incident: Sim) -> None:
    kinds = incident.kinds(incident.events)
    assert kinds == [Kind.SESSION_STARTED, Kind.INCIDENT_DECLARED]
    assert incident.events[0].body["kind"] == "incident"
    assert incident.state.kind is SessionKind.INCIDENT
    assert incident.phase() is Phase.INCIDENT
    assert incident.state.t0 == T
    assert incident.state.t_plus(T + 5) == 5


def test_a_deploy_session_records_no_kind_and_no_declaration() -> None:
    sim = Sim(demo_data())
    sim.start()
    assert sim.kinds(sim.events) == [Kind.SESSION_STARTED]
    assert "kind" not in sim.events[0].body  # journals written before incidents read the same
    assert sim.state.kind is SessionKind.DEPLOY
    assert sim.state.t0 is None


def test_a_baseline_time_belongs_to_an_incident_and_to_the_past() -> None:
    sim = Sim(demo_data())
    deploy = i.StartSession(
        OPERATOR, T, sim.profile_data, "abc", "p", "ada", "grace", baseline_at=T
    )
    assert "belongs to an incident" in sim.refused(deploy)
    future = i.StartSession(
        OPERATOR,
        T,
        sim.profile_data,
        "abc",
        "p",
        "ada",
        "grace",
        kind="incident",
        baseline_at=T + 1,
    )
    assert "future" in sim.refused(future)
    odd = i.StartSession(OPERATOR, T, sim.profile_data, "abc", "p", "ada", "grace", kind="war")
    assert "unknown kind" in sim.refused(odd)
    start_incident(sim, baseline_at=T - 1500)
    assert sim.state.incident is not None
    assert sim.state.incident.baseline_at == T - 1500


# ---------------------------------------------------------------- R from the first frame


def test_r_works_at_once_and_says_what_it_came_before(incident: Sim) -> None:
    events = incident.do(i.RollBackNow(CREW, T, "R pressed: ROLLING BACK NOW"))
    assert incident.kinds(events) == [Kind.ROLLBACK_STARTED]
    assert events[0].body["before"] == ["readback", "command verification"]
    assert events[0].actor == CREW
    assert incident.phase() is Phase.ROLLING_BACK


def test_r_after_the_monitor_records_nothing_missing(incident: Sim) -> None:
    incident.do(i.ConfirmReadback(MONITOR, T + 1))
    verified = incident.do(i.VerifyRollbackPlan(MONITOR, T + 2, (("demo-ctl", "rollback"),)))
    assert verified[0].body["commands"] == [["demo-ctl", "rollback"]]
    assert incident.state.incident is not None
    assert incident.state.incident.plan_verified_by == "grace"
    events = incident.do(i.RollBackNow(CREW, T + 3))
    assert events[0].body["before"] == []


def test_r_is_never_refused_in_an_incident_before_a_rollback_ran(incident: Sim) -> None:
    # Whatever the metrics, the checks or a HOLD: nothing stands in front of R.
    incident.do(i.Hold(OPERATOR, T, "waiting for the incident lead"))
    metrics(incident, Status.FAIL, 99.0)
    incident.do(i.RecordCheck(OPERATOR, T, sample("rollback-dry-run", Status.FAIL, 1.0, T)))
    incident.do(i.RollBackNow(CREW, T + 1))
    assert "already rolling back" in incident.refused(i.RollBackNow(CREW, T + 2))


def test_the_monitor_beside_r_is_refused_once_the_rollback_started(incident: Sim) -> None:
    incident.do(i.RollBackNow(CREW, T))
    assert "no longer decides" in incident.refused(i.ConfirmReadback(MONITOR, T + 1))
    assert "no longer decides" in incident.refused(i.VerifyRollbackPlan(MONITOR, T + 1))


def test_the_rollback_plan_is_verified_by_the_monitor_once(incident: Sim) -> None:
    assert "only the Monitor" in incident.refused(i.VerifyRollbackPlan(OPERATOR, T))
    incident.do(i.VerifyRollbackPlan(MONITOR, T))
    assert "already verified by grace" in incident.refused(i.VerifyRollbackPlan(MONITOR, T))
    deploy = Sim(demo_data())
    deploy.start()
    assert "each step's command" in deploy.refused(i.VerifyRollbackPlan(MONITOR, T))


def test_an_incident_has_no_go_no_steps_and_no_abort(incident: Sim) -> None:
    assert "not to INCIDENT" in incident.refused(i.Go(OPERATOR, T))
    assert "INCIDENT" in incident.refused(i.RunStep(OPERATOR, T, "deploy-v2"))
    assert "roll back (R)" in incident.refused(i.Abort(OPERATOR, T, "changed our minds"))
    metrics(incident, Status.INCONCLUSIVE)
    assert "R rolls back" in incident.refused(i.AcceptInconclusive(MONITOR, T, "fine"))


# ---------------------------------------------------------------- checks inform


def test_only_the_checks_that_guard_a_rollback_run_in_an_incident(incident: Sim) -> None:
    assert incident.state.rollback_checks() == ["rollback-dry-run", "runbook"]
    incident.do(i.RecordCheck(OPERATOR, T, sample("rollback-dry-run", Status.FAIL, 1.0, T)))
    assert incident.state.rollback_checks_red() == ["Rollback path validated (dry run)"]
    refused = incident.refused(i.RecordCheck(OPERATOR, T, sample("cpu", Status.PASS, 1.0, T)))
    assert "guards the deploy, not the rollback" in refused
    incident.do(i.ConfirmManualCheck(OPERATOR, T, "runbook"))
    incident.do(i.RollBackNow(CREW, T))  # a RED check never blocks R
    refused = incident.refused(
        i.RecordCheck(OPERATOR, T, sample("rollback-dry-run", Status.PASS, 1.0, T))
    )
    assert "closed" in refused


def test_gates_say_what_a_check_guards() -> None:
    data = demo_data()
    data["checks"][1]["gates"] = ["rollback"]  # cpu: informs an incident, not the GO call
    sim = Sim(data)
    sim.start()
    assert "cpu" not in sim.state.checks_green()
    assert "cpu" in sim.state.rollback_checks()
    data["checks"][0]["gates"] = ["deploy"]  # the dry run no longer guards the rollback
    other = Sim(data)
    start_incident(other)
    assert other.state.rollback_checks() == ["cpu", "runbook"]


# ---------------------------------------------------------------- the trigger-time rule from T0


def test_red_metrics_alone_never_roll_back_an_incident(incident: Sim) -> None:
    # on_failed_stop_point is a deploy's rule: the metrics are RED, that is why we are here.
    data: dict[str, Any] = demo_data(rollback__on_failed_stop_point="automatic")
    sim = Sim(data)
    start_incident(sim)
    for n in range(10):
        sim.at(n)
        metrics(sim, Status.FAIL, 9.0)
    assert sim.state.rollback is None


@pytest.mark.parametrize("policy", ["automatic", "prompt"])
def test_the_trigger_time_counts_from_t0(policy: str) -> None:
    sim = Sim(demo_data(rollback__on_trigger_time=policy))
    start_incident(sim)
    assert sim.state.trigger_deadline() == T + DEMO.briefing.contingency.trigger_time
    for n in range(1, 5):
        sim.at(n)
        metrics(sim, Status.FAIL, 9.0)
    assert sim.do(i.Tick(OPERATOR, sim.at(299))) == []
    events = sim.do(i.Tick(OPERATOR, sim.at(300)))
    if policy == "automatic":
        assert sim.kinds(events) == [Kind.ROLLBACK_STARTED]
        assert events[0].body["automatic"] is True
    else:
        assert sim.kinds(events) == [Kind.ROLLBACK_ADVISED]
    assert "after the incident was declared" in str(events[0].body["reason"])


def test_metrics_green_stop_the_trigger_time_and_red_again_restarts_it(incident: Sim) -> None:
    for n in range(1, 5):
        incident.at(n)
        metrics(incident, Status.PASS)
    assert incident.state.trigger_deadline() is None
    for n in range(5, 8):
        incident.at(n)
        metrics(incident, Status.FAIL, 9.0)
    assert incident.state.trigger_deadline() == T + 5 + DEMO.briefing.contingency.trigger_time
    events = incident.do(i.Tick(OPERATOR, incident.at(305)))
    assert "the metrics went RED again" in str(events[0].body["reason"])


# ---------------------------------------------------------------- after the rollback


def test_verified_then_stable_is_mitigated(incident: Sim) -> None:
    roll_back_and_finish_commands(incident)
    for n in range(3, 6):
        incident.at(n)
        metrics(incident, Status.PASS)
    assert incident.state.rollback is not None
    assert incident.state.rollback.verdict == "VERIFIED"
    kinds = incident.kinds(incident.events)
    verified = kinds.index(Kind.ROLLBACK_VERIFIED)
    assert kinds[verified + 1] == Kind.STABILIZATION_STARTED
    assert incident.phase() is Phase.STABILIZING
    assert not incident.phase().finished
    start = incident.now
    for n in range(1, 31):
        incident.at(start - T + n)
        metrics(incident, Status.PASS)
        events = incident.do(i.Tick(OPERATOR, incident.now))
    assert incident.kinds(events) == [Kind.INCIDENT_MITIGATED]
    assert incident.phase() is Phase.MITIGATED
    assert incident.phase().finished
    assert "already rolling back" in incident.refused(i.RollBackNow(CREW, incident.now))


def test_a_red_stabilization_window_is_not_verified_and_says_why(incident: Sim) -> None:
    roll_back_and_finish_commands(incident)
    for n in range(3, 6):
        incident.at(n)
        metrics(incident, Status.PASS)
    assert incident.phase() is Phase.STABILIZING
    for n in range(6, 10):
        incident.at(n)
        metrics(incident, Status.FAIL, 9.0, ids=["error-rate"])
    assert incident.phase() is Phase.NOT_VERIFIED
    assert incident.state.rollback is not None
    (difference,) = incident.state.rollback.differences
    assert difference.startswith("stabilization window FAILED: HTTP 5xx rate 3 failed samples")


def test_not_green_at_the_end_of_stabilization_is_not_verified(incident: Sim) -> None:
    roll_back_and_finish_commands(incident)
    for n in range(3, 6):
        incident.at(n)
        metrics(incident, Status.PASS)
    start = incident.now - T
    duration, within = DEMO.health.duration, DEMO.rollback.verify.within
    others = [m.id for m in DEMO.metrics if m.id != "p99"]
    for n in range(1, int(duration + within) + 1):
        incident.at(start + n)
        metrics(incident, Status.PASS, ids=others)
        metrics(incident, Status.INCONCLUSIVE, ids=["p99"])  # held for a human, never GREEN
        events = incident.do(i.Tick(OPERATOR, incident.now))
        if n < duration + within:
            assert events == [], n
    assert incident.kinds(events) == [Kind.ROLLBACK_NOT_VERIFIED]
    (difference,) = events[0].body["differences"]
    assert difference == (
        "not GREEN at the end of the stabilization window: p99 latency: inconclusive: test"
    )


def test_a_failed_rollback_command_is_not_verified(incident: Sim) -> None:
    incident.do(i.RollBackNow(CREW, T))
    incident.do(i.ProcessStarted(OPERATOR, T, "rollback", "0", 8, 8, "/tmp/rb"))
    incident.do(i.ProcessExited(OPERATOR, T + 1, "rollback", "0", 3))
    assert incident.phase() is Phase.NOT_VERIFIED


# ---------------------------------------------------------------- replay


def test_replay_of_an_incident_equals_the_live_state(incident: Sim) -> None:
    for n in range(1, 3):
        incident.at(n)
        metrics(incident, Status.FAIL, 9.0)
    incident.do(
        i.RecordCheck(OPERATOR, incident.now, sample("rollback-dry-run", Status.PASS, 0, T))
    )
    incident.do(i.ConfirmReadback(MONITOR, incident.at(3)))
    roll_back_and_finish_commands(incident)
    for n in range(6, 9):
        incident.at(n)
        metrics(incident, Status.PASS)
    incident.do(i.Tick(OPERATOR, incident.at(40)))
    for n in range(41, 44):
        incident.at(n)
        metrics(incident, Status.PASS)
    incident.do(i.Tick(OPERATOR, incident.at(44)))
    assert incident.phase() is Phase.MITIGATED
    assert replay(incident.events) == incident.state
    assert replay(incident.events[:-1]) != incident.state
