"""The rules of the procedure: given the state and an intent, the events to record or a refusal.

``decide`` is pure: it reads the state, never changes it, never reads a clock or does I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar

from cockpit.durations import format_clock
from cockpit.engine import confirm
from cockpit.engine import intents as i
from cockpit.engine.baseline import choose_baseline
from cockpit.engine.events import SYSTEM, Event
from cockpit.engine.kinds import Kind
from cockpit.engine.state import LOOP_DUTIES, Phase, SessionKind, State, StepStatus, Window
from cockpit.engine.verdict import (
    MetricWindow,
    Verdict,
    combine,
    metric_verdict,
    standing,
    tolerance,
    verification_sample,
    why_not_back,
)
from cockpit.profile.models import Metric, Profile


class Refusal(Exception):
    """The engine will not do this; ``reason`` says why, in words for the screen."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_I = TypeVar("_I", bound=i.Intent)
_RULES: dict[type[i.Intent], Callable[[State, Any], list[Event]]] = {}


def _rule(
    kind: type[_I],
) -> Callable[[Callable[[State, _I], list[Event]]], Callable[[State, _I], list[Event]]]:
    def register(fn: Callable[[State, _I], list[Event]]) -> Callable[[State, _I], list[Event]]:
        _RULES[kind] = fn
        return fn

    return register


def decide(state: State, intent: i.Intent) -> list[Event]:
    """The events an intent produces in this state.

    Raises:
        Refusal: when the procedure does not allow it now, with the reason.
    """
    rule = _RULES.get(type(intent))
    if rule is None:
        raise Refusal(f"unknown intent {type(intent).__name__}")
    if not isinstance(intent, i.StartSession) and state.profile is None:
        raise Refusal("no session has been started")
    return rule(state, intent)


def _event(intent: i.Intent, kind: str, **body: Any) -> Event:
    return Event(kind=kind, body=body, actor=intent.actor, wall=intent.wall)


def _system(intent: i.Intent, kind: str, **body: Any) -> Event:
    return Event(kind=kind, body=body, actor=SYSTEM, wall=intent.wall)


def _profile(state: State) -> Profile:
    assert state.profile is not None
    return state.profile


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _require_role(state: State, intent: i.Intent, *roles: str) -> None:
    actor = intent.actor
    if actor.role not in roles:
        wanted = " or ".join(r.capitalize() for r in roles)
        raise Refusal(f"only the {wanted} can do this (you act as {actor.role})")
    profile = _profile(state)
    single = profile.crew is not None and profile.crew.single_operator
    if profile.roles.two_person_rule and not single and actor.role in ("operator", "monitor"):
        other = "monitor" if actor.role == "operator" else "operator"
        if _same(actor.user, state.crew.get(other, "")):
            raise Refusal(
                f"two-person rule: {actor.user} is the {other.capitalize()} and cannot also "
                f"act as {actor.role.capitalize()}"
            )


def _lock_held(state: State) -> None:
    lock = state.lock
    if lock is not None and not lock.held and lock.released is None:
        raise Refusal(
            f"LOCK LOST ({lock.lost}): no new step until the lock is held again; R still rolls back"
        )


def _not_finished(state: State) -> None:
    if state.phase.finished:
        raise Refusal(f"the session has ended ({state.phase.value})")


# ---------------------------------------------------------------- briefing and checklist


@_rule(i.StartSession)
def _start(state: State, intent: i.StartSession) -> list[Event]:
    if state.phase is not Phase.NEW:
        raise Refusal("the session has already started")
    if not intent.operator.strip() or not intent.monitor.strip():
        raise Refusal("name the Operator and the Monitor before starting")
    two_person = bool(intent.profile.get("roles", {}).get("two_person_rule", True))
    single = bool((intent.profile.get("crew") or {}).get("single_operator", False))
    if two_person and not single and _same(intent.operator, intent.monitor):
        raise Refusal(
            f"two-person rule: {intent.operator} cannot be both Operator and Monitor; "
            "name a second person"
        )
    if intent.kind not in set(SessionKind):
        raise Refusal(f"unknown kind of session {intent.kind!r}")
    if intent.baseline_at is not None and intent.kind != SessionKind.INCIDENT:
        raise Refusal("a baseline time belongs to an incident; a deploy takes its baseline at GO")
    if intent.baseline_at is not None and intent.baseline_at > intent.wall:
        raise Refusal("the baseline time is in the future; give a time before the incident")
    body: dict[str, Any] = {
        "profile": intent.profile,
        "profile_sha256": intent.profile_sha256,
        "profile_path": intent.profile_path,
        "operator": intent.operator,
        "monitor": intent.monitor,
        "approvers": list(intent.approvers),
        "os_user": intent.os_user,
        "host": intent.host,
    }
    if intent.kind != SessionKind.DEPLOY:
        body["kind"] = intent.kind  # a deploy's record reads as it did before incidents
    started = Event(Kind.SESSION_STARTED, body, intent.actor, intent.wall)
    if intent.kind != SessionKind.INCIDENT:
        return [started]
    # T0 is the declaration itself: the timer runs from the first frame, and R works at once.
    return [started, _event(intent, Kind.INCIDENT_DECLARED, baseline_at=intent.baseline_at)]


def _beside_r(state: State, what: str) -> None:
    """In an incident, the Monitor's readback and verification happen beside R: recorded
    whenever they happen before the rollback, and moot once it started."""
    _not_finished(state)
    if state.rollback is not None:
        raise Refusal(f"the rollback has started: {what} no longer decides anything")


@_rule(i.ConfirmReadback)
def _readback(state: State, intent: i.ConfirmReadback) -> list[Event]:
    _require_role(state, intent, "monitor")
    if state.readback_by is not None:
        raise Refusal(f"the triggers were already read back by {state.readback_by}")
    if state.is_incident:
        _beside_r(state, "the readback")
    elif state.phase is not Phase.BRIEFING:
        raise Refusal(f"the readback belongs to the briefing, not to {state.phase.value}")
    triggers = list(_profile(state).briefing.contingency.triggers)
    # In an incident the readback stays one key: it happens beside R, never in front of it.
    ask = None if state.is_incident else confirm.readback_ask(_profile(state))
    typed = _typed(ask, intent.typed)
    return [_event(intent, Kind.READBACK_CONFIRMED, triggers=triggers, **typed)]


def _typed(ask: confirm.Ask | None, typed: str | None) -> dict[str, str]:
    """Type to confirm: the typed answer for the record, when one is asked for."""
    if ask is None:
        return {}
    if typed is None or not ask.accepts(typed):
        said = "wrong answer" if typed and typed.strip() else "nothing was typed"
        raise Refusal(f"{said}: {ask.expected}")
    return {"typed": typed.strip(), "question": ask.question}


def _checks_open(state: State, check_id: str, what: str) -> None:
    """Checks are measured before GO; in an incident, only those guarding the rollback, and
    only until it starts (they inform R, never block it)."""
    if state.phase is Phase.INCIDENT:
        if check_id in state.checks and check_id not in state.rollback_checks():
            raise Refusal(
                f"{check_id!r} guards the deploy, not the rollback: not run in an incident"
            )
    elif state.phase not in (Phase.BRIEFING, Phase.CHECKLIST):
        raise Refusal(f"{what} closed once execution has started")


@_rule(i.RecordCheck)
def _check(state: State, intent: i.RecordCheck) -> list[Event]:
    _checks_open(state, intent.sample.id, "readiness checks are")
    if intent.sample.id not in state.checks:
        raise Refusal(f"unknown check {intent.sample.id!r}")
    return [_event(intent, Kind.CHECK_RESULT, sample=intent.sample.to_json())]


@_rule(i.ConfirmManualCheck)
def _confirm(state: State, intent: i.ConfirmManualCheck) -> list[Event]:
    _checks_open(state, intent.check_id, "the checklist is")
    check = next((c for c in _profile(state).checks if c.id == intent.check_id), None)
    if check is None:
        raise Refusal(f"unknown check {intent.check_id!r}")
    if check.manual is None:
        raise Refusal(f"{check.title}: automated; it passes by measurement, not by confirmation")
    _require_role(state, intent, check.manual.role)
    if state.checks[check.id].confirmed_by is not None:
        raise Refusal(f"{check.title}: already confirmed by {state.checks[check.id].confirmed_by}")
    return [_event(intent, Kind.CHECK_CONFIRMED, check=check.id, prompt=check.manual.prompt)]


@_rule(i.Go)
def _go(state: State, intent: i.Go) -> list[Event]:
    profile = _profile(state)
    if state.phase is Phase.BRIEFING:
        raise Refusal("no GO before the Monitor reads back the rollback triggers")
    if state.phase is not Phase.CHECKLIST:
        raise Refusal(f"GO belongs to the checklist, not to {state.phase.value}")
    _require_role(state, intent, "operator", "monitor")
    if state.hold is not None:
        raise Refusal(f"on HOLD ({state.hold.reason}); resume first")
    _lock_held(state)
    if intent.actor.role in state.go:
        raise Refusal(f"the {intent.actor.role.capitalize()} has already given GO")
    not_green = state.checks_green(intent.wall)
    if not_green:
        titles = {c.id: c.title for c in profile.checks}
        raise Refusal("NO-GO: not GREEN: " + "; ".join(titles[c] for c in not_green))
    missing = state.baseline_missing(intent.wall)
    if missing:
        raise Refusal(
            "no baseline yet for "
            + ", ".join(missing)
            + ": the metrics must be fresh and PASS at GO"
        )
    baseline = state.baseline_at(intent.wall)
    events = [_event(intent, Kind.GO, role=intent.actor.role)]
    if {"operator", "monitor"} <= set(state.go) | {intent.actor.role}:
        events.append(_system(intent, Kind.EXECUTION_STARTED, baseline=baseline))
    return events


@_rule(i.NoGo)
def _nogo(state: State, intent: i.NoGo) -> list[Event]:
    if state.phase not in (Phase.BRIEFING, Phase.CHECKLIST):
        raise Refusal("NO-GO belongs to the GO call; during execution use HOLD or roll back")
    if not intent.reason.strip():
        raise Refusal("say why: a NO-GO needs a reason")
    return [_event(intent, Kind.NOGO, reason=intent.reason.strip())]


@_rule(i.Abort)
def _abort(state: State, intent: i.Abort) -> list[Event]:
    if state.t0 is not None:
        raise Refusal("execution has started: roll back (R) or HOLD instead of aborting")
    _not_finished(state)
    return [
        _event(intent, Kind.SESSION_ABORTED, reason=intent.reason or "aborted before execution")
    ]


# ---------------------------------------------------------------- execution


def _next_step_is(state: State, step_id: str) -> int:
    upcoming = state.next_step()
    if upcoming is None:
        raise Refusal("every step has run")
    index, step = upcoming
    if step.id != step_id:
        raise Refusal(f"the next step is {step.id!r}, not {step_id!r}")
    return index


def _executing(state: State, what: str) -> None:
    _not_finished(state)
    if state.phase is not Phase.EXECUTING:
        raise Refusal(f"{what} is only possible during execution (now {state.phase.value})")


@_rule(i.VerifyStep)
def _verify(state: State, intent: i.VerifyStep) -> list[Event]:
    _executing(state, "verifying a command")
    _require_role(state, intent, "monitor")
    index = _next_step_is(state, intent.step_id)
    if state.steps[index].verified_by is not None:
        raise Refusal(f"already verified by {state.steps[index].verified_by}")
    _, step = _profile(state).steps()[index]
    command = list(intent.command) or list(step.command)
    return [_event(intent, Kind.STEP_VERIFIED, step=step.id, command=command)]


@_rule(i.VerifyRollbackPlan)
def _verify_plan(state: State, intent: i.VerifyRollbackPlan) -> list[Event]:
    if not state.is_incident:
        raise Refusal("in a deploy the Monitor verifies each step's command (v) before it runs")
    _require_role(state, intent, "monitor")
    assert state.incident is not None
    if state.incident.plan_verified_by is not None:
        raise Refusal(f"already verified by {state.incident.plan_verified_by}")
    _beside_r(state, "verifying its commands")
    commands = [list(c) for c in intent.commands] or list(_profile(state).rollback.commands)
    return [_event(intent, Kind.ROLLBACK_PLAN_VERIFIED, commands=commands)]


@_rule(i.ApproveStep)
def _approve(state: State, intent: i.ApproveStep) -> list[Event]:
    _executing(state, "approving a step")
    index = _next_step_is(state, intent.step_id)
    _, step = _profile(state).steps()[index]
    if step.approval is None:
        raise Refusal(f"step {step.id!r} has no approval gate")
    _require_role(state, intent, step.approval)
    if step.approval == "approver":
        if _profile(state).roles.two_person_rule and _same(
            intent.actor.user, state.crew.get("operator", "")
        ):
            raise Refusal("two-person rule: the Operator cannot approve their own step")
        if state.approvers and not any(_same(intent.actor.user, a) for a in state.approvers):
            raise Refusal(f"{intent.actor.user} is not an approver ({', '.join(state.approvers)})")
    if state.steps[index].approved_by is not None:
        raise Refusal(f"already approved by {state.steps[index].approved_by}")
    ask = confirm.approval_ask(_profile(state), step.id)
    typed = _typed(ask, intent.typed)
    return [_event(intent, Kind.STEP_APPROVED, step=step.id, **typed)]


@_rule(i.AcknowledgeIrreversible)
def _ack(state: State, intent: i.AcknowledgeIrreversible) -> list[Event]:
    _executing(state, "acknowledging a point of no return")
    _require_role(state, intent, "operator")
    index = _next_step_is(state, intent.step_id)
    _, step = _profile(state).steps()[index]
    if not step.irreversible:
        raise Refusal(f"step {step.id!r} is not marked irreversible")
    typed = _typed(confirm.irreversible_ask(_profile(state), step.id), intent.typed)
    return [
        _event(
            intent,
            Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED,
            step=step.id,
            policy=step.irreversible_policy or "",
            **typed,
        )
    ]


@_rule(i.RunStep)
def _run(state: State, intent: i.RunStep) -> list[Event]:
    _executing(state, "running a step")
    _require_role(state, intent, "operator")
    if state.hold is not None:
        raise Refusal(f"on HOLD ({state.hold.reason}); resume first")
    _lock_held(state)
    running = state.running_step()
    if running is not None:
        raise Refusal(f"step {running.id!r} is still running")
    index = _next_step_is(state, intent.step_id)
    profile = _profile(state)
    _, step = profile.steps()[index]
    if state.steps[index].status is StepStatus.FAILED:
        raise Refusal(f"step {step.id!r} failed; roll back (R)")
    if index > 0 and not state.steps[index - 1].stop_point_passed:
        previous = profile.steps()[index - 1][1]
        raise Refusal(f"step {index} ({previous.id})'s stop point is not GREEN yet")
    s = state.steps[index]
    if profile.roles.two_person_rule and s.verified_by is None:
        raise Refusal(f"the Monitor has not verified the command of step {index + 1} yet")
    if step.approval is not None and s.approved_by is None:
        raise Refusal(f"step {step.id!r} needs the {step.approval}'s approval first")
    if step.irreversible and s.irreversible_ack_by is None:
        raise Refusal(f"step {step.id!r} is a POINT OF NO RETURN: acknowledge it first")
    if intent.command and s.verified_command and list(intent.command) != s.verified_command:
        raise Refusal(
            f"step {step.id!r} would run {' '.join(intent.command)!r}, not the command the Monitor"
            f" verified ({' '.join(s.verified_command)!r}): the environment changed; verify again"
        )
    # The command as it runs (references resolved), as the Operator's screen or the Monitor's
    # verification gave it; the profile's own text only when neither did.
    command = list(intent.command) or s.verified_command or list(step.command)
    return [_event(intent, Kind.STEP_STARTING, step=step.id, index=index, command=command)]


def _stop_point_passed(state: State, intent: i.Intent, step_id: str, how: str) -> list[Event]:
    """Events when a step's stop point turns GREEN; after the last step, health begins."""
    events = [_system(intent, Kind.STOP_POINT_PASSED, step=step_id, how=how)]
    if step_id == _profile(state).steps()[-1][1].id:
        events.append(
            _system(intent, Kind.HEALTH_STARTED, duration=_profile(state).health.duration)
        )
    return events


def _start_rollback(state: State, intent: i.Intent, reason: str, automatic: bool) -> list[Event]:
    commands = len(_profile(state).rollback.commands)
    body: dict[str, Any] = {"automatic": automatic, "reason": reason, "commands": commands}
    if state.incident is not None:
        # R never waits for the Monitor: the record says what it came before.
        before = []
        if state.readback_by is None:
            before.append("readback")
        if state.incident.plan_verified_by is None:
            before.append("command verification")
        body["before"] = before
    return [
        Event(
            kind=Kind.ROLLBACK_STARTED,
            body=body,
            actor=SYSTEM if automatic else intent.actor,
            wall=intent.wall,
        )
    ]


def _failure(state: State, intent: i.Intent, reason: str) -> list[Event]:
    """A failed step, stop point or health window: roll back or advise, per the profile."""
    if _profile(state).rollback.on_failed_stop_point == "automatic":
        return _start_rollback(state, intent, reason, automatic=True)
    if state.advisory is not None:
        return []  # advised once; the banner stays until someone acts
    return [_system(intent, Kind.ROLLBACK_ADVISED, reason=reason)]


@_rule(i.ProcessStarted)
def _started(state: State, intent: i.ProcessStarted) -> list[Event]:
    if intent.purpose == "step":
        if state.step_state(intent.ref).status is not StepStatus.STARTING:
            raise Refusal(f"step {intent.ref!r} was not starting")
    elif state.rollback is None:
        raise Refusal("no rollback is in progress")
    return [
        _system(
            intent,
            Kind.PROCESS_STARTED,
            purpose=intent.purpose,
            ref=intent.ref,
            pid=intent.pid,
            pgid=intent.pgid,
            output=intent.output,
            argv=list(intent.argv),
            supervisor_pid=intent.supervisor_pid,
            started_wall=intent.started_wall,
            **({"found": intent.found} if intent.found else {}),
        )
    ]


@_rule(i.MarkNotStarted)
def _not_started(state: State, intent: i.MarkNotStarted) -> list[Event]:
    if state.step_state(intent.step_id).status is not StepStatus.STARTING:
        raise Refusal(f"step {intent.step_id!r} was not starting")
    return [_system(intent, Kind.STEP_NOT_STARTED, step=intent.step_id, why=intent.why)]


def _why(intent: i.ProcessExited) -> str | None:
    if intent.error:
        return intent.error
    if intent.timed_out:
        return f"timed out after {intent.duration:.0f}s"
    if intent.signal:
        return f"killed by signal {intent.signal}"
    if intent.exit_code != 0:
        return f"exit status {intent.exit_code}"
    return None


@_rule(i.ProcessExited)
def _exited(state: State, intent: i.ProcessExited) -> list[Event]:
    why = _why(intent)
    ok = why is None
    if intent.purpose == "rollback":
        rb = state.rollback
        if rb is None:
            raise Refusal("no rollback is in progress")
        index = int(intent.ref)
        events = [
            _system(
                intent,
                Kind.ROLLBACK_COMMAND_FINISHED,
                index=index,
                ok=ok,
                exit_code=intent.exit_code,
                why=why,
                duration=intent.duration,
                **({"note": intent.note} if intent.note else {}),
            )
        ]
        if not ok:
            events.append(
                _system(
                    intent,
                    Kind.ROLLBACK_NOT_VERIFIED,
                    differences=[f"rollback command {index + 1} failed: {why}"],
                )
            )
        elif index == len(rb.commands) - 1:
            events.append(_system(intent, Kind.ROLLBACK_VERIFYING))
        return events
    step = state.step_state(intent.ref)
    if step.status not in (StepStatus.STARTING, StepStatus.RUNNING):
        raise Refusal(f"step {intent.ref!r} was not running")
    events = [
        _system(
            intent,
            Kind.STEP_FINISHED,
            step=intent.ref,
            ok=ok,
            exit_code=intent.exit_code,
            why=why,
            duration=intent.duration,
            **({"note": intent.note} if intent.note else {}),
        )
    ]
    if state.rollback is not None:
        return events
    if not ok:
        return events + _failure(state, intent, f"step {intent.ref} failed: {why}")
    stop_point = next(st for _, st in _profile(state).steps() if st.id == intent.ref).stop_point
    if not stop_point:
        events += _stop_point_passed(state, intent, intent.ref, "no stop-point metrics")
    return events


# ---------------------------------------------------------------- samples and time


@_rule(i.RecordSample)
def _sample(state: State, intent: i.RecordSample) -> list[Event]:
    sample = intent.sample
    profile = _profile(state)
    if sample.id not in state.metrics:
        raise Refusal(f"unknown metric {sample.id!r}")
    events = [_system(intent, Kind.SAMPLE, **sample.to_json())]
    metric = profile.metric(sample.id)
    window = state.window
    judged = state.rollback is None or (window is not None and window.kind == "stabilization")
    if window is not None and judged and sample.id in window.counters:
        updated = window.counters[sample.id]
        if sample.measured_at >= window.started:
            updated = copy.copy(updated)
            updated.add(sample, metric)
        events += _judge_window(state, intent, metric, updated)
    rb = state.rollback
    if rb is not None and rb.verify_started is not None and rb.verdict is None:
        if sample.id in rb.counters and sample.measured_at >= rb.verify_started:
            counters = dict(rb.counters)
            updated = copy.copy(counters[sample.id])
            updated.add(verification_sample(profile, state.baseline, sample), metric)
            counters[sample.id] = updated
            events += _judge_verification(state, intent, counters)
    return events


@_rule(i.RecordHistory)
def _history(state: State, intent: i.RecordHistory) -> list[Event]:
    if intent.metric_id not in state.metrics:
        raise Refusal(f"unknown metric {intent.metric_id!r}")
    body: dict[str, Any] = {
        "metric": intent.metric_id,
        "start": intent.start,
        "end": intent.end,
        "step": intent.step,
        "points": [[t, v] for t, v in intent.points],
    }
    if intent.error is not None:
        body["error"] = intent.error
    return [_system(intent, Kind.METRIC_HISTORY, **body)]


@_rule(i.TakeBaseline)
def _take_baseline(state: State, intent: i.TakeBaseline) -> list[Event]:
    if state.incident is None:
        raise Refusal("a deploy takes its baseline at GO")
    if state.incident.baseline is not None:
        raise Refusal("the baseline was already taken")
    _not_finished(state)
    profile = _profile(state)
    histories: dict[str, list[tuple[float, float | None]]] = {}
    unavailable: dict[str, str] = {}
    for metric in profile.metrics:
        past = state.metrics[metric.id].past
        if metric.source.kind != "prometheus":
            unavailable[metric.id] = "no history"
        elif past is None:
            continue
        elif past.error:
            unavailable[metric.id] = f"no history: {past.error}"
        else:
            histories[metric.id] = list(past.points)
    for metric_id, points in intent.before:
        if metric_id in state.metrics and metric_id not in unavailable:
            merged = histories.get(metric_id, []) + list(points)
            histories[metric_id] = sorted(merged, key=lambda p: p[0])
    choice = choose_baseline(profile, histories, unavailable, state.incident.baseline_at)
    red = choice.red
    return [
        _system(
            intent,
            Kind.BASELINE_TAKEN,
            at=choice.at,
            source=choice.source,
            red=None
            if red is None
            else {"metric": red.metric_id, "start": red.start, "from_first": red.from_first},
            metrics={m: b.to_json() for m, b in choice.metrics.items()},
        )
    ]


FRESH_MARGIN = 0.001
"""Seconds before the first last sample gets old from which the window is judged metric by
metric: the shortcut compares sums that rounding may put a hair either side of the rule's."""


def _overall(window: Window, metric: Metric, updated: MetricWindow, now: float) -> Verdict | None:
    """The window's verdict once ``metric``'s counter is ``updated``, from what the judge keeps
    (in constant time); None when a last sample may have got old (judge every metric)."""
    judge = window.judge
    if judge is None:
        return None
    before, after = standing(metric, window.counters[metric.id]), standing(metric, updated)

    def count(verdict: Verdict, kept: int) -> int:
        return kept - (before is verdict) + (after is verdict)

    if count(Verdict.FAILED, judge.failed):
        return Verdict.FAILED
    if now > judge.fresh_until - FRESH_MARGIN:  # a last sample is (nearly) old: look at each
        return None
    if updated.last is not None and now - updated.last.measured_at > metric.staleness:
        return None
    if count(Verdict.INCONCLUSIVE, judge.inconclusive):
        return Verdict.INCONCLUSIVE
    if count(Verdict.GREEN, judge.green) == len(window.counters):
        return Verdict.GREEN
    return Verdict.PENDING


def _judge_window(
    state: State, intent: i.Intent, metric: Metric, updated: MetricWindow
) -> list[Event]:
    """Judge the open window as a sample of ``metric`` makes its counter ``updated``."""
    window = state.window
    assert window is not None
    profile = _profile(state)
    overall = (
        Verdict.GREEN if window.accepted_by else _overall(window, metric, updated, intent.wall)
    )
    # A FAILED window acts (and names what failed) in a stabilization window, and in a stop
    # point or health window unless the advisory was given already; an incident's window
    # only tracks GREEN / not GREEN (the trigger-time rule acts on it, from T0).
    acts = window.kind == "stabilization" or (
        window.kind != "incident"
        and (profile.rollback.on_failed_stop_point == "automatic" or state.advisory is None)
    )
    verdicts: dict[str, tuple[Verdict, str]] = {}
    if overall is None or (overall is Verdict.FAILED and acts):
        # every metric's verdict: to combine them, or to say which failed and why
        counters = dict(window.counters)
        counters[metric.id] = updated
        verdicts = {
            m: metric_verdict(profile.metric(m), counters[m], intent.wall) for m in window.metrics
        }
        if overall is None:
            overall = combine([v for v, _ in verdicts.values()])
    failed = "; ".join(
        f"{profile.metric(m).title} {why}"
        for m, (v, why) in verdicts.items()
        if v is Verdict.FAILED
    )
    if overall is Verdict.FAILED and window.kind == "stabilization":
        return [
            _system(
                intent,
                Kind.ROLLBACK_NOT_VERIFIED,
                differences=[f"stabilization window FAILED: {failed}"],
            )
        ]
    if window.kind == "stabilization":
        return []  # its end is a matter of time: see the tick
    if overall is Verdict.FAILED and window.kind != "incident":
        # In an incident the metrics are RED already: that is why the room is here. Only
        # the trigger-time rule acts on them, from T0.
        if not verdicts:
            return []  # advised already; _failure would say nothing new
        where = "health window" if window.kind == "health" else f"stop point of {window.step_id}"
        return _failure(state, intent, f"{where} FAILED: {failed}")
    if window.kind == "stop_point":
        if overall is not Verdict.GREEN or window.step_id is None:
            return []
        return _stop_point_passed(state, intent, window.step_id, "GREEN")
    # Health window: track GREEN / not GREEN for the contingency countdown, once every
    # metric has had enough samples to be judged (a fresh window starts PENDING).
    counter = window.counters[metric.id]
    if window.judge is not None:
        crossed = counter.samples < metric.pass_count <= updated.samples
        if window.judge.enough + crossed < len(window.counters):
            return []
    elif not all(
        (updated if m == metric.id else window.counters[m]).samples >= profile.metric(m).pass_count
        for m in window.metrics
    ):
        return []
    if overall is Verdict.GREEN and window.not_green_since is not None:
        return [_system(intent, Kind.WINDOW_GREEN)]
    if overall is not Verdict.GREEN and window.not_green_since is None:
        return [_system(intent, Kind.WINDOW_NOT_GREEN, verdict=overall.value)]
    return []


def comparison(state: State, counters: dict[str, MetricWindow]) -> dict[str, dict[str, Any]]:
    """Per verified metric: baseline, now, tolerance and whether it is back."""
    profile = _profile(state)
    out: dict[str, dict[str, Any]] = {}
    for metric_id in profile.rollback.verify.metrics:
        base = state.baseline.get(metric_id)
        window = counters.get(metric_id, MetricWindow())
        now = window.last.value if window.last is not None else None
        out[metric_id] = {
            "baseline": base,
            "now": now,
            "tolerance": None
            if base is None
            else tolerance(profile.rollback.verify, metric_id, base),
            "unit": profile.metric(metric_id).unit,
            "back": window.consecutive_passes >= profile.metric(metric_id).pass_count,
            "against": _against(state, metric_id),
        }
    return out


def _against(state: State, metric_id: str) -> str:
    """What a verified metric is compared with: "GO", "history" (from before the incident)
    or "threshold" (no baseline)."""
    if state.incident is None:
        return "GO" if metric_id in state.baseline else "threshold"
    return "history" if metric_id in state.baseline else "threshold"


def _judge_verification(
    state: State, intent: i.Intent, counters: dict[str, MetricWindow]
) -> list[Event]:
    if state.incident is not None and state.incident.baseline is None:
        return []  # the history is still being read: what "back" means is not known yet
    result = comparison(state, counters)
    if not all(entry["back"] for entry in result.values()):
        return []
    events = [_system(intent, Kind.ROLLBACK_VERIFIED, comparison=result)]
    if state.is_incident:
        duration = _profile(state).health.duration
        events.append(_system(intent, Kind.STABILIZATION_STARTED, duration=duration))
    return events


def _differences(state: State, now: float) -> list[str]:
    """What is not back, each saying which condition it fails (a threshold, the baseline, the
    passes in a row, a stale or missing sample)."""
    assert state.rollback is not None
    profile = _profile(state)
    if state.incident is not None and state.incident.baseline is None:
        return ["no baseline: the history from before the incident was not read in time"]
    out = []
    for metric_id, entry in comparison(state, state.rollback.counters).items():
        if entry["back"]:
            continue
        window = state.rollback.counters.get(metric_id, MetricWindow())
        why = why_not_back(
            profile.metric(metric_id), window, entry["baseline"], entry["tolerance"], now
        )
        out.append(f"{metric_id}: {why}")
    return out


@_rule(i.Tick)
def _tick(state: State, intent: i.Tick) -> list[Event]:
    if state.phase.finished or state.profile is None:
        return []
    now = intent.wall
    if state.phase is Phase.STABILIZING:
        return _stabilization_tick(state, intent)
    rb = state.rollback
    if rb is not None:
        if rb.verdict is None and rb.verify_started is None:
            # A decision's events are records of their own: a cockpit killed between "the
            # last rollback command finished" and what follows from it resumes with neither
            # the verification started nor a verdict. The next tick carries it out.
            failed = next((c for c in rb.commands if c.finished and c.why is not None), None)
            if failed is not None:
                why = f"rollback command {failed.index + 1} failed: {failed.why}"
                return [_system(intent, Kind.ROLLBACK_NOT_VERIFIED, differences=[why])]
            if rb.commands and all(c.finished for c in rb.commands):
                return [_system(intent, Kind.ROLLBACK_VERIFYING)]
        within = state.profile.rollback.verify.within
        if (
            rb.verify_started is not None
            and rb.verdict is None
            and now >= rb.verify_started + within
        ):
            return [
                _system(
                    intent,
                    Kind.ROLLBACK_NOT_VERIFIED,
                    differences=_differences(state, now),
                    comparison=comparison(state, rb.counters),
                )
            ]
        return []
    deadline = state.trigger_deadline()
    if deadline is not None and now >= deadline:
        window = state.window
        verdicts = state.window_verdicts(now)
        pending = "; ".join(
            f"{m} {why}" for m, (v, why) in verdicts.items() if v is not Verdict.GREEN
        )
        if window is None:
            since = "a step failed"
        elif window.kind == "stop_point":
            since = "the step ended"
        elif window.kind == "incident":
            declared = window.not_green_since == window.started
            since = "the incident was declared" if declared else "the metrics went RED again"
        else:
            since = "the health window went RED"
        t_plus = state.t_plus(now) or 0.0
        trigger = format_clock(state.profile.briefing.contingency.trigger_time)
        reason = (
            f"{TRIGGER_TIME} ({trigger}) passed: not GREEN by T+{format_clock(t_plus)} "
            f"({trigger} after {since})" + (f": {pending}" if pending else "")
        )
        if state.profile.rollback.on_trigger_time == "automatic":
            return _start_rollback(state, intent, reason, automatic=True)
        if state.advisory is None or not state.advisory.startswith(TRIGGER_TIME):
            return [_system(intent, Kind.ROLLBACK_ADVISED, reason=reason)]
        return []
    if state.phase is Phase.HEALTH and state.health_started is not None:
        end = state.health_started + state.profile.health.duration
        if now >= end and state.window_verdict(now) is Verdict.GREEN and state.hold is None:
            return [_system(intent, Kind.SESSION_COMPLETE)]
    return []


def _stabilization_tick(state: State, intent: i.Tick) -> list[Event]:
    """The end of an incident's stabilization window: GREEN at its end is MITIGATED; not
    GREEN within the verification time after it is NOT VERIFIED, saying what is not GREEN."""
    profile = _profile(state)
    window = state.window
    if state.incident is None or window is None or state.incident.stabilization_started is None:
        return []
    end = state.incident.stabilization_started + profile.health.duration
    now = intent.wall
    if now < end:
        return []
    if state.window_verdict(now) is Verdict.GREEN:
        return [_system(intent, Kind.INCIDENT_MITIGATED, duration=profile.health.duration)]
    if now < end + profile.rollback.verify.within:
        return []
    pending = [
        f"{profile.metric(m).title}: {why}"
        for m, (v, why) in state.window_verdicts(now).items()
        if v is not Verdict.GREEN
    ]
    return [
        _system(
            intent,
            Kind.ROLLBACK_NOT_VERIFIED,
            differences=[f"not GREEN at the end of the stabilization window: {'; '.join(pending)}"],
        )
    ]


TRIGGER_TIME = "trigger time"
"""How the contingency's trigger-time rule (the seed's "5-minute rule") is named: after its
real time, which a profile sets (45 s in one, 5 min in another)."""

LOOP_FAULT_REPEAT = 60.0
"""Seconds before the same failure of the same loop is recorded again (it is shown at once)."""


@_rule(i.RecordLoopHealth)
def _loop_health(state: State, intent: i.RecordLoopHealth) -> list[Event]:
    known = state.loops.get(intent.loop)
    if intent.error is None:
        if known is None:
            return []
        return [_system(intent, Kind.LOOP_RECOVERED, loop=intent.loop)]
    duty = LOOP_DUTIES.get(intent.loop, intent.loop)
    if intent.stopped:
        if known is not None and known.stopped:
            return []
        return [_system(intent, Kind.LOOP_STOPPED, loop=intent.loop, error=intent.error, duty=duty)]
    if known is not None and (
        known.stopped
        or (known.error == intent.error and intent.wall - known.recorded < LOOP_FAULT_REPEAT)
    ):
        return []
    return [_system(intent, Kind.LOOP_FAILED, loop=intent.loop, error=intent.error, duty=duty)]


# ---------------------------------------------------------------- hold and rollback


@_rule(i.Hold)
def _hold(state: State, intent: i.Hold) -> list[Event]:
    _not_finished(state)
    if state.hold is not None:
        raise Refusal(f"already on HOLD ({state.hold.reason})")
    if state.rollback is not None:
        raise Refusal("a rollback is running; it is not held")
    if not intent.reason.strip():
        raise Refusal("say why: a HOLD needs a reason")
    return [_event(intent, Kind.HOLD, reason=intent.reason.strip())]


@_rule(i.Resume)
def _resume(state: State, intent: i.Resume) -> list[Event]:
    if state.hold is None:
        raise Refusal("not on HOLD")
    return [_event(intent, Kind.RESUME, held_for=intent.wall - state.hold.since)]


@_rule(i.RollBackNow)
def _rollback(state: State, intent: i.RollBackNow) -> list[Event]:
    if state.rollback is not None:
        raise Refusal("already rolling back")
    _not_finished(state)
    # An incident's release went out before the cockpit: there is always something to undo.
    if not state.deployed_anything and not state.is_incident:
        raise Refusal("nothing has been deployed yet: no step has started. HOLD or abort instead")
    return _start_rollback(state, intent, intent.reason, automatic=False)


@_rule(i.AcceptInconclusive)
def _accept(state: State, intent: i.AcceptInconclusive) -> list[Event]:
    _require_role(state, intent, "monitor")
    if state.window is not None and state.window.kind == "incident":
        raise Refusal("in an incident nothing waits for a stop point: R rolls back")
    if state.window is None or state.window_verdict(intent.wall) is not Verdict.INCONCLUSIVE:
        raise Refusal("only an INCONCLUSIVE stop point can be accepted")
    if not intent.reason.strip():
        raise Refusal("say why the stop point is acceptable")
    accepted = _event(intent, Kind.STOP_POINT_ACCEPTED, reason=intent.reason.strip())
    if state.window.step_id is None:
        return [accepted]
    passed = _stop_point_passed(state, intent, state.window.step_id, "accepted by the Monitor")
    return [accepted, *passed]


@_rule(i.RecordSnapshot)
def _snapshot(state: State, intent: i.RecordSnapshot) -> list[Event]:
    if state.rollback is None:
        raise Refusal("a snapshot belongs to a rollback")
    return [
        _system(intent, Kind.ROLLBACK_SNAPSHOT, metrics=intent.metrics, output=intent.output_tail)
    ]


# ---------------------------------------------------------------- the deploy lock

_LOCK_KINDS = {
    "taken": Kind.LOCK_TAKEN,
    "lost": Kind.LOCK_LOST,
    "kept": Kind.LOCK_KEPT,
    "released": Kind.LOCK_RELEASED,
}


@_rule(i.LockChanged)
def _lock_changed(state: State, intent: i.LockChanged) -> list[Event]:
    kind = _LOCK_KINDS.get(intent.change)
    if kind is None:
        raise Refusal(f"unknown lock change {intent.change!r}")
    lock = state.lock
    if intent.change == "lost" and (lock is None or not lock.held):
        return []  # said once; said again only after it was held again
    if intent.change != "taken" and lock is None:
        raise Refusal("this session holds no lock")
    return [_event(intent, kind, **intent.details)]


_ATTACH_KINDS = {"joined": Kind.ATTACH_JOINED, "left": Kind.ATTACH_LEFT}


@_rule(i.RecordAttach)
def _attach(state: State, intent: i.RecordAttach) -> list[Event]:
    kind = _ATTACH_KINDS.get(intent.change)
    if kind is None:
        raise Refusal(f"unknown attach change {intent.change!r}")
    return [_event(intent, kind, **intent.details)]
