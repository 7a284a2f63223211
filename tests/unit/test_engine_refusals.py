"""Every refusal the engine can raise, one row each, and a guard that no refusal lacks a row.

A row is a state set-up, an intent and a fragment of the expected reason. The guard reads
``engine/rules.py`` with ``ast``: each ``raise Refusal(...)`` must be the one that a row's
refusal came from (its traceback's line), so a new refusal without a row fails here, and so
does a row that is refused by some other rule than the one it names.
"""

from __future__ import annotations

import ast
import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.engine import Refusal, decide, rules
from cockpit.engine import intents as i
from cockpit.journal.records import Actor
from cockpit.sample import Status
from tests.unit.test_engine import (
    APPROVER,
    MONITOR,
    OPERATOR,
    Sim,
    T,
    demo_data,
    sample,
    two_step_data,
)

RULES = Path(inspect.getfile(rules))


class Unregistered(i.Intent):
    """An intent no rule handles."""


# ---------------------------------------------------------------- set-ups


def fresh() -> Sim:
    return Sim(demo_data())


def briefing() -> Sim:
    sim = fresh()
    sim.start()
    return sim


def checklist() -> Sim:
    sim = briefing()
    sim.do(i.ConfirmReadback(MONITOR, sim.now, typed="5m"))
    return sim


def ready() -> Sim:
    """Checklist GREEN and fresh metrics: GO would be accepted."""
    sim = checklist()
    sim.all_checks_pass()
    sim.metrics()
    return sim


def checks_only() -> Sim:
    """Checklist GREEN but no metric sampled: there is no baseline to take."""
    sim = checklist()
    sim.all_checks_pass()
    return sim


def operator_gave_go() -> Sim:
    sim = ready()
    sim.do(i.Go(OPERATOR, sim.now))
    return sim


def held_in_checklist() -> Sim:
    sim = ready()
    sim.do(i.Hold(MONITOR, sim.now, "waiting for the DBA"))
    return sim


def aborted() -> Sim:
    sim = briefing()
    sim.do(i.Abort(OPERATOR, sim.now, "dependency missing"))
    return sim


def executing() -> Sim:
    sim = fresh()
    sim.to_execution()
    return sim


def verified() -> Sim:
    sim = executing()
    sim.do(i.VerifyStep(MONITOR, sim.now, "deploy-v2"))
    return sim


def verified_lock_lost() -> Sim:
    """Verified, ready to run, but the deploy lock was taken and then lost."""
    sim = verified()
    holder = {"user": "ada", "host": "bastion-1", "pid": 4242}
    sim.do(i.LockChanged(OPERATOR, sim.now, "taken", {"holder": holder, "locks": ["k"]}))
    sim.do(i.LockChanged(OPERATOR, sim.now, "lost", {"reason": "etcd lease expired"}))
    return sim


def _session(kind: str, baseline_at: float | None = None) -> Callable[[Sim], i.Intent]:
    return lambda s: i.StartSession(
        OPERATOR,
        s.now,
        s.profile_data,
        "abc",
        "demo.toml",
        "ada",
        "grace",
        kind=kind,
        baseline_at=baseline_at,
    )


def incident() -> Sim:
    """An incident just declared (T0 now)."""
    sim = fresh()
    sim.do(_session("incident")(sim))
    return sim


def incident_baseline_taken() -> Sim:
    sim = incident()
    sim.do(i.TakeBaseline(OPERATOR, sim.now))
    return sim


def incident_plan_verified() -> Sim:
    sim = incident()
    sim.do(i.VerifyRollbackPlan(MONITOR, sim.now))
    return sim


def incident_rolling_back() -> Sim:
    sim = incident_baseline_taken()
    sim.do(i.RollBackNow(OPERATOR, sim.now, "R"))
    return sim


def verified_on_hold() -> Sim:
    sim = verified()
    sim.do(i.Hold(MONITOR, sim.now, "pager"))
    return sim


def step_starting() -> Sim:
    sim = verified()
    sim.do(i.RunStep(OPERATOR, sim.now, "deploy-v2"))
    return sim


def stop_point_pending() -> Sim:
    """The only step exited 0 a moment ago: its stop point has no sample yet."""
    sim = executing()
    sim.run_first_step()
    return sim


def stop_point_inconclusive() -> Sim:
    sim = stop_point_pending()
    sim.at(1)
    sim.metrics(Status.INCONCLUSIVE, 0.0)
    return sim


def step_failed() -> Sim:
    sim = executing()
    sim.run_first_step(exit_code=3)
    return sim


def rolling_back() -> Sim:
    sim = stop_point_pending()
    sim.do(i.RollBackNow(OPERATOR, sim.now, "RED"))
    return sim


def rolled_back_and_verified() -> Sim:
    sim = rolling_back()
    sim.do(i.ProcessExited(OPERATOR, sim.now, "rollback", "0", 0))
    for n in range(1, 4):
        sim.at(n)
        sim.metrics()
    assert sim.state.phase.finished
    return sim


def two_steps_first_ran() -> Sim:
    """Two steps; the first ran and its stop point has no sample yet."""
    sim = Sim(two_step_data())
    sim.to_execution()
    sim.run_first_step()
    return sim


def two_steps_second_next() -> Sim:
    """Two steps; the first one's stop point is GREEN, the gated second one is next."""
    sim = two_steps_first_ran()
    for n in range(1, 4):
        sim.at(n)
        sim.metrics()
    assert sim.state.steps[0].stop_point_passed
    sim.do(i.VerifyStep(MONITOR, sim.now, "announce"))
    return sim


def two_steps_second_approved() -> Sim:
    sim = two_steps_second_next()
    sim.do(i.ApproveStep(APPROVER, sim.now, "announce", typed="production"))
    return sim


# ---------------------------------------------------------------- the table


@dataclass(frozen=True)
class Row:
    """One refusal: where the state is, what is asked, which rule refuses and why."""

    id: str
    rule: str
    setup: Callable[[], Sim]
    intent: Callable[[Sim], i.Intent]
    reason: str


def _start(operator: str, monitor: str) -> Callable[[Sim], i.Intent]:
    return lambda s: i.StartSession(
        OPERATOR, s.now, s.profile_data, "abc", "demo.toml", operator, monitor
    )


ROWS = [
    Row("unknown-intent", "decide", fresh, lambda s: Unregistered(OPERATOR, s.now), "unknown"),
    Row("no-session", "decide", fresh, lambda s: i.Go(OPERATOR, s.now), "no session"),
    # roles
    Row(
        "wrong-role",
        "_require_role",
        briefing,
        lambda s: i.ConfirmReadback(OPERATOR, s.now, typed="5m"),
        "only the Monitor can do this (you act as operator)",
    ),
    Row(
        "two-person-one-user",
        "_require_role",
        briefing,
        lambda s: i.ConfirmReadback(Actor("monitor", "Ada ", None), s.now, typed="5m"),
        "Ada  is the Operator and cannot also act as Monitor",
    ),
    Row(
        "session-ended",
        "_not_finished",
        aborted,
        lambda s: i.Hold(OPERATOR, s.now, "x"),
        "the session has ended (ABORTED)",
    ),
    # briefing and checklist
    Row(
        "start-twice",
        "_start",
        briefing,
        _start("ada", "grace"),
        "already started",
    ),
    Row("start-unnamed", "_start", fresh, _start("ada", "  "), "name the Operator and the Monitor"),
    Row("start-one-person", "_start", fresh, _start("ada", "ADA"), "cannot be both"),
    Row(
        "readback-twice",
        "_readback",
        checklist,
        lambda s: i.ConfirmReadback(MONITOR, s.now, typed="5m"),
        "already read back by grace",
    ),
    Row(
        "readback-after-briefing",
        "_readback",
        aborted,
        lambda s: i.ConfirmReadback(MONITOR, s.now, typed="5m"),
        "belongs to the briefing, not to ABORTED",
    ),
    Row(
        "check-during-execution",
        "_checks_open",
        executing,
        lambda s: i.RecordCheck(OPERATOR, s.now, sample("cpu", Status.PASS, 1.0, s.now)),
        "readiness checks are closed",
    ),
    Row(
        "check-unknown",
        "_check",
        briefing,
        lambda s: i.RecordCheck(OPERATOR, s.now, sample("nope", Status.PASS, 1.0, s.now)),
        "unknown check 'nope'",
    ),
    Row(
        "confirm-during-execution",
        "_checks_open",
        executing,
        lambda s: i.ConfirmManualCheck(OPERATOR, s.now, "runbook"),
        "the checklist is closed",
    ),
    Row(
        "confirm-unknown",
        "_confirm",
        checklist,
        lambda s: i.ConfirmManualCheck(OPERATOR, s.now, "nope"),
        "unknown check 'nope'",
    ),
    Row(
        "confirm-automated",
        "_confirm",
        checklist,
        lambda s: i.ConfirmManualCheck(OPERATOR, s.now, "cpu"),
        "automated",
    ),
    Row(
        "confirm-twice",
        "_confirm",
        ready,
        lambda s: i.ConfirmManualCheck(OPERATOR, s.now, "runbook"),
        "already confirmed by ada",
    ),
    # GO, NO-GO, abort
    Row("go-in-briefing", "_go", briefing, lambda s: i.Go(OPERATOR, s.now), "reads back"),
    Row(
        "go-in-execution",
        "_go",
        executing,
        lambda s: i.Go(OPERATOR, s.now),
        "GO belongs to the checklist, not to EXECUTING",
    ),
    Row(
        "go-on-hold",
        "_go",
        held_in_checklist,
        lambda s: i.Go(OPERATOR, s.now),
        "on HOLD (waiting for the DBA)",
    ),
    Row(
        "go-twice",
        "_go",
        operator_gave_go,
        lambda s: i.Go(OPERATOR, s.now),
        "the Operator has already given GO",
    ),
    Row(
        "go-by-approver",
        "_require_role",
        ready,
        lambda s: i.Go(APPROVER, s.now),
        "only the Operator or Monitor can do this (you act as approver)",
    ),
    Row("go-not-green", "_go", checklist, lambda s: i.Go(OPERATOR, s.now), "NO-GO: not GREEN"),
    Row(
        "go-no-baseline",
        "_go",
        checks_only,
        lambda s: i.Go(OPERATOR, s.now),
        "no baseline yet for error-rate, p99, ready",
    ),
    Row(
        "nogo-in-execution",
        "_nogo",
        executing,
        lambda s: i.NoGo(MONITOR, s.now, "x"),
        "NO-GO belongs to the GO call",
    ),
    Row(
        "nogo-no-reason", "_nogo", checklist, lambda s: i.NoGo(MONITOR, s.now, " "), "a NO-GO needs"
    ),
    Row(
        "abort-in-execution",
        "_abort",
        executing,
        lambda s: i.Abort(OPERATOR, s.now, "x"),
        "execution has started",
    ),
    Row(
        "abort-after-end",
        "_not_finished",
        aborted,
        lambda s: i.Abort(OPERATOR, s.now, "again"),
        "the session has ended",
    ),
    # steps
    Row(
        "verify-after-end",
        "_not_finished",
        rolled_back_and_verified,
        lambda s: i.VerifyStep(MONITOR, s.now, "deploy-v2"),
        "the session has ended (ROLLED BACK — VERIFIED)",
    ),
    Row(
        "approve-before-go",
        "_executing",
        checklist,
        lambda s: i.ApproveStep(APPROVER, s.now, "deploy-v2"),
        "approving a step is only possible during execution",
    ),
    Row(
        "acknowledge-before-go",
        "_executing",
        checklist,
        lambda s: i.AcknowledgeIrreversible(OPERATOR, s.now, "deploy-v2"),
        "acknowledging a point of no return is only possible during execution",
    ),
    Row(
        "run-before-go",
        "_executing",
        operator_gave_go,
        lambda s: i.RunStep(OPERATOR, s.now, "deploy-v2"),
        "running a step is only possible during execution",
    ),
    Row(
        "approve-by-operator",
        "_require_role",
        two_steps_second_next,
        lambda s: i.ApproveStep(OPERATOR, s.now, "announce"),
        "only the Approver can do this",
    ),
    Row(
        "acknowledge-by-monitor",
        "_require_role",
        executing,
        lambda s: i.AcknowledgeIrreversible(MONITOR, s.now, "deploy-v2"),
        "only the Operator can do this",
    ),
    Row(
        "verify-before-go",
        "_executing",
        checklist,
        lambda s: i.VerifyStep(MONITOR, s.now, "deploy-v2"),
        "verifying a command is only possible during execution (now CHECKLIST)",
    ),
    Row(
        "every-step-ran",
        "_next_step_is",
        stop_point_pending,
        lambda s: i.VerifyStep(MONITOR, s.now, "deploy-v2"),
        "every step has run",
    ),
    Row(
        "not-the-next-step",
        "_next_step_is",
        executing,
        lambda s: i.VerifyStep(MONITOR, s.now, "announce"),
        "the next step is 'deploy-v2', not 'announce'",
    ),
    Row(
        "verify-twice",
        "_verify",
        verified,
        lambda s: i.VerifyStep(MONITOR, s.now, "deploy-v2"),
        "already verified by grace",
    ),
    Row(
        "approve-ungated",
        "_approve",
        executing,
        lambda s: i.ApproveStep(APPROVER, s.now, "deploy-v2"),
        "has no approval gate",
    ),
    Row(
        "approve-own-step",
        "_approve",
        two_steps_second_next,
        lambda s: i.ApproveStep(Actor("approver", "ada", None), s.now, "announce"),
        "the Operator cannot approve their own step",
    ),
    Row(
        "approve-not-an-approver",
        "_approve",
        two_steps_second_next,
        lambda s: i.ApproveStep(Actor("approver", "mallory", None), s.now, "announce"),
        "mallory is not an approver (carol)",
    ),
    Row(
        "approve-twice",
        "_approve",
        two_steps_second_approved,
        lambda s: i.ApproveStep(APPROVER, s.now, "announce", typed="production"),
        "already approved by carol",
    ),
    Row(
        "acknowledge-reversible",
        "_ack",
        executing,
        lambda s: i.AcknowledgeIrreversible(OPERATOR, s.now, "deploy-v2"),
        "is not marked irreversible",
    ),
    Row(
        "run-on-hold",
        "_run",
        verified_on_hold,
        lambda s: i.RunStep(OPERATOR, s.now, "deploy-v2"),
        "on HOLD (pager); resume first",
    ),
    Row(
        "run-while-running",
        "_run",
        step_starting,
        lambda s: i.RunStep(OPERATOR, s.now, "deploy-v2"),
        "step 'deploy-v2' is still running",
    ),
    Row(
        "run-failed-step",
        "_run",
        step_failed,
        lambda s: i.RunStep(OPERATOR, s.now, "deploy-v2"),
        "step 'deploy-v2' failed; roll back",
    ),
    Row(
        "run-before-stop-point",
        "_run",
        two_steps_first_ran,
        lambda s: i.RunStep(OPERATOR, s.now, "announce"),
        "step 1 (deploy-v2)'s stop point is not GREEN yet",
    ),
    Row(
        "run-unverified",
        "_run",
        executing,
        lambda s: i.RunStep(OPERATOR, s.now, "deploy-v2"),
        "has not verified the command of step 1",
    ),
    Row(
        "run-unapproved",
        "_run",
        two_steps_second_next,
        lambda s: i.RunStep(OPERATOR, s.now, "announce"),
        "needs the approver's approval first",
    ),
    Row(
        "run-unacknowledged",
        "_run",
        two_steps_second_approved,
        lambda s: i.RunStep(OPERATOR, s.now, "announce"),
        "POINT OF NO RETURN",
    ),
    # type to confirm (issue 10 §4)
    Row(
        "readback-wrong-answer",
        "_typed",
        briefing,
        lambda s: i.ConfirmReadback(MONITOR, s.now, typed="2m"),
        "wrong answer: the readback asks for the trigger time",
    ),
    Row(
        "readback-nothing-typed",
        "_typed",
        briefing,
        lambda s: i.ConfirmReadback(MONITOR, s.now),
        "nothing was typed: the readback asks for the trigger time",
    ),
    Row(
        "approve-production-wrong-word",
        "_typed",
        two_steps_second_next,
        lambda s: i.ApproveStep(APPROVER, s.now, "announce", typed="staging"),
        "wrong answer: type the environment's name 'production' to approve step 'announce'",
    ),
    Row(
        "acknowledge-wrong-word",
        "_typed",
        two_steps_second_approved,
        lambda s: i.AcknowledgeIrreversible(OPERATOR, s.now, "announce", typed="prod"),
        "wrong answer: type the environment's name 'production' to acknowledge the point of no"
        " return 'announce'",
    ),
    # incidents
    Row("start-unknown-kind", "_start", fresh, _session("rehearsal"), "unknown kind of session"),
    Row(
        "start-deploy-baseline-time",
        "_start",
        fresh,
        _session("deploy", baseline_at=T - 60),
        "a baseline time belongs to an incident",
    ),
    Row(
        "start-baseline-in-the-future",
        "_start",
        fresh,
        _session("incident", baseline_at=T + 60),
        "the baseline time is in the future",
    ),
    Row(
        "readback-after-incident-rollback",
        "_beside_r",
        incident_rolling_back,
        lambda s: i.ConfirmReadback(MONITOR, s.now, typed="5m"),
        "the rollback has started: the readback no longer decides anything",
    ),
    Row(
        "incident-check-of-the-deploy",
        "_checks_open",
        incident,
        lambda s: i.RecordCheck(OPERATOR, s.now, sample("cpu", Status.PASS, 1.0, s.now)),
        "guards the deploy, not the rollback",
    ),
    Row(
        "verify-plan-in-a-deploy",
        "_verify_plan",
        executing,
        lambda s: i.VerifyRollbackPlan(MONITOR, s.now),
        "in a deploy the Monitor verifies each step's command",
    ),
    Row(
        "verify-plan-twice",
        "_verify_plan",
        incident_plan_verified,
        lambda s: i.VerifyRollbackPlan(MONITOR, s.now),
        "already verified by grace",
    ),
    Row(
        "history-unknown-metric",
        "_history",
        executing,
        lambda s: i.RecordHistory(OPERATOR, s.now, "nope", s.now - 60, s.now, 1.0),
        "unknown metric 'nope'",
    ),
    Row(
        "baseline-in-a-deploy",
        "_take_baseline",
        executing,
        lambda s: i.TakeBaseline(OPERATOR, s.now),
        "a deploy takes its baseline at GO",
    ),
    Row(
        "baseline-twice",
        "_take_baseline",
        incident_baseline_taken,
        lambda s: i.TakeBaseline(OPERATOR, s.now),
        "the baseline was already taken",
    ),
    Row(
        "accept-in-an-incident",
        "_accept",
        incident,
        lambda s: i.AcceptInconclusive(MONITOR, s.now, "looks fine"),
        "in an incident nothing waits for a stop point",
    ),
    Row(
        "run-lock-lost",
        "_lock_held",
        verified_lock_lost,
        lambda s: i.RunStep(OPERATOR, s.now, "deploy-v2"),
        "LOCK LOST (etcd lease expired): no new step",
    ),
    Row(
        "lock-unknown-change",
        "_lock_changed",
        executing,
        lambda s: i.LockChanged(OPERATOR, s.now, "stolen", {}),
        "unknown lock change 'stolen'",
    ),
    Row(
        "lock-none-held",
        "_lock_changed",
        executing,
        lambda s: i.LockChanged(OPERATOR, s.now, "released", {"by": "ada", "reason": "x"}),
        "this session holds no lock",
    ),
    Row(
        "attach-unknown-change",
        "_attach",
        executing,
        lambda s: i.RecordAttach(OPERATOR, s.now, "teleported", {}),
        "unknown attach change 'teleported'",
    ),
    Row(
        "run-command-differs",
        "_run",
        verified,
        lambda s: i.RunStep(OPERATOR, s.now, "deploy-v2", ("another", "command")),
        "not the command the Monitor verified",
    ),
    # processes and samples
    Row(
        "not-started-not-starting",
        "_not_started",
        executing,
        lambda s: i.MarkNotStarted(OPERATOR, s.now, "deploy-v2", "never started"),
        "step 'deploy-v2' was not starting",
    ),
    Row(
        "started-not-starting",
        "_started",
        executing,
        lambda s: i.ProcessStarted(OPERATOR, s.now, "step", "deploy-v2", 1, 1, "/tmp/o"),
        "step 'deploy-v2' was not starting",
    ),
    Row(
        "started-no-rollback",
        "_started",
        executing,
        lambda s: i.ProcessStarted(OPERATOR, s.now, "rollback", "0", 1, 1, "/tmp/o"),
        "no rollback is in progress",
    ),
    Row(
        "exited-no-rollback",
        "_exited",
        stop_point_pending,
        lambda s: i.ProcessExited(OPERATOR, s.now, "rollback", "0", 0),
        "no rollback is in progress",
    ),
    Row(
        "exited-not-running",
        "_exited",
        executing,
        lambda s: i.ProcessExited(OPERATOR, s.now, "step", "deploy-v2", 0),
        "step 'deploy-v2' was not running",
    ),
    Row(
        "sample-unknown-metric",
        "_sample",
        executing,
        lambda s: i.RecordSample(OPERATOR, s.now, sample("nope", Status.PASS, 1.0, s.now)),
        "unknown metric 'nope'",
    ),
    # hold and rollback
    Row(
        "hold-twice",
        "_hold",
        verified_on_hold,
        lambda s: i.Hold(OPERATOR, s.now, "again"),
        "already on HOLD (pager)",
    ),
    Row(
        "hold-a-rollback",
        "_hold",
        rolling_back,
        lambda s: i.Hold(OPERATOR, s.now, "wait"),
        "a rollback is running",
    ),
    Row(
        "hold-no-reason", "_hold", briefing, lambda s: i.Hold(OPERATOR, s.now, " "), "a HOLD needs"
    ),
    Row(
        "resume-not-held", "_resume", executing, lambda s: i.Resume(OPERATOR, s.now), "not on HOLD"
    ),
    Row(
        "rollback-twice",
        "_rollback",
        rolling_back,
        lambda s: i.RollBackNow(MONITOR, s.now),
        "already rolling back",
    ),
    Row(
        "rollback-nothing-deployed",
        "_rollback",
        verified,
        lambda s: i.RollBackNow(OPERATOR, s.now),
        "nothing has been deployed yet",
    ),
    Row(
        "accept-pending",
        "_accept",
        stop_point_pending,
        lambda s: i.AcceptInconclusive(MONITOR, s.now, "looks fine"),
        "only an INCONCLUSIVE stop point can be accepted",
    ),
    Row(
        "accept-no-reason",
        "_accept",
        stop_point_inconclusive,
        lambda s: i.AcceptInconclusive(MONITOR, s.now, "  "),
        "say why the stop point is acceptable",
    ),
    Row(
        "snapshot-no-rollback",
        "_snapshot",
        stop_point_pending,
        lambda s: i.RecordSnapshot(OPERATOR, s.now, {}, []),
        "a snapshot belongs to a rollback",
    ),
]


def refuse(row: Row) -> Refusal:
    """Run a row: the refusal, which must leave the state as it was."""
    sim = row.setup()
    intent = row.intent(sim)
    before = copy.deepcopy(sim.state)
    with pytest.raises(Refusal) as caught:
        decide(sim.state, intent)
    assert sim.state == before, "a refusal must not change the state"
    return caught.value


def raised_at(refusal: Refusal) -> tuple[str, int]:
    """The function and line in engine/rules.py that raised the refusal."""
    tb = refusal.__traceback__
    where: tuple[str, int] | None = None
    while tb is not None:
        if Path(tb.tb_frame.f_code.co_filename) == RULES:
            where = (tb.tb_frame.f_code.co_name, tb.tb_lineno)
        tb = tb.tb_next
    assert where is not None, "the refusal did not come from engine/rules.py"
    return where


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_refusal(row: Row) -> None:
    refusal = refuse(row)
    assert row.reason in refusal.reason
    function, _ = raised_at(refusal)
    assert function == row.rule, f"refused by {function}, not by {row.rule}: {refusal.reason}"


def test_a_refusal_carries_its_reason_as_its_text() -> None:
    refusal = refuse(ROWS[0])
    assert str(refusal) == refusal.reason == "unknown intent Unregistered"


def refusal_sites(source: str) -> dict[int, str]:
    """Line -> 'function: message' of every ``raise Refusal(...)`` in a module's source."""
    sites: dict[int, str] = {}
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and isinstance(node.exc.func, ast.Name)
                and node.exc.func.id == "Refusal"
            ):
                message = ast.unparse(node.exc.args[0]) if node.exc.args else ""
                sites[node.lineno] = f"{function.name}: {message}"
    return sites


def uncovered(rows: list[Row]) -> list[str]:
    """The refusals in engine/rules.py that none of ``rows`` is refused by."""
    sites = refusal_sites(RULES.read_text(encoding="utf-8"))
    assert len(sites) >= 50, "the guard no longer finds the refusals"
    covered = {raised_at(refuse(row))[1] for row in rows}
    return [f"line {line}: {site}" for line, site in sorted(sites.items()) if line not in covered]


def test_every_refusal_in_the_rules_has_a_row() -> None:
    missing = uncovered(ROWS)
    assert not missing, "refusals without a row in ROWS:\n" + "\n".join(missing)


def test_the_guard_fails_for_a_refusal_without_a_row() -> None:
    without = [row for row in ROWS if row.rule != "_snapshot"]
    missing = uncovered(without)
    assert len(missing) == 1
    assert "_snapshot: 'a snapshot belongs to a rollback'" in missing[0]
