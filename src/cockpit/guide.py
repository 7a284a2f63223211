"""Whose turn it is and which key does what next: derived from the state, nothing else.

On a shared screen the Operator and the Monitor each have their own keys; this module is
the one place that says who should act now, so the screen, the help and the tests agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cockpit.durations import format_clock
from cockpit.engine import Phase, State, StepStatus, Verdict, confirm

KEYS: dict[str, tuple[str, str]] = {
    # key: (role, what it does)
    "R": ("anyone", "ROLL BACK NOW"),
    "h": ("anyone", "hold (with a reason)"),
    "u": ("anyone", "resume from hold"),
    "n": ("anyone", "NO-GO (with a reason)"),
    "e": ("anyone", "re-run checks"),
    "A": ("anyone", "abort (before execution)"),
    "q": ("anyone", "quit"),
    "t": ("monitor", "read back the triggers"),
    "m": ("monitor", "Monitor GO"),
    "v": ("monitor", "verify the command"),
    "k": ("monitor", "confirm check"),
    "y": ("monitor", "accept INCONCLUSIVE"),
    "g": ("operator", "Operator GO"),
    "c": ("operator", "confirm check"),
    "x": ("operator", "run the next step"),
    "i": ("operator", "acknowledge no-return step"),
    "p": ("approver", "approve a gated step"),
}
"""Every key of the cockpit, the role that presses it, and what it does."""


@dataclass(frozen=True)
class Next:
    """The next thing that should happen."""

    role: str  # "operator", "monitor", "approver", "anyone" or "cockpit" (waiting)
    key: str | None
    text: str


def manual_pending(state: State, role: str) -> str | None:
    """The first manual check for ``role`` that nobody confirmed yet."""
    if state.profile is None:
        return None
    gate: Literal["deploy", "rollback"] = "rollback" if state.is_incident else "deploy"
    for check in state.profile.checks:
        if check.manual is not None and check.manual.role == role and check.guards(gate):
            if state.checks[check.id].confirmed_by is None:
                return check.id
    return None


def next_action(state: State, now: float) -> Next:
    """Whose turn it is, with the key to press, in words for the screen."""
    profile = state.profile
    if profile is None:
        return Next("cockpit", None, "starting")
    phase = state.phase
    if phase.finished:
        return Next("anyone", "q", f"session ended: {phase.value}. The record is kept; q quits")
    if phase is Phase.STABILIZING and state.incident is not None:
        started = state.incident.stabilization_started or now
        left = started + profile.health.duration - now
        if left > 0:
            return Next(
                "monitor",
                None,
                f"stabilization window: watch the metrics, {format_clock(left)} left",
            )
        return Next("cockpit", None, "stabilization window over: waiting for every metric GREEN")
    if state.rollback is not None:
        if phase is Phase.VERIFYING:
            against = (
                "the baseline from before the incident" if state.is_incident else "the GO baseline"
            )
            return Next("cockpit", None, f"verifying the rollback against {against}")
        return Next("cockpit", None, "rolling back: watch the output")
    if phase is Phase.INCIDENT:
        return _incident_next(state)
    if state.hold is not None:
        return Next("anyone", "u", f"on HOLD ({state.hold.reason}): press u to resume")
    if state.advisory is not None:
        return Next("anyone", "R", "rollback advised (see the banner): press R to roll back now")
    if phase is Phase.BRIEFING:
        if confirm.readback_ask(profile) is not None:
            return Next(
                "monitor", "t", "Monitor: read the rollback triggers back: press t and answer"
            )
        return Next("monitor", "t", "Monitor: read the rollback triggers back, then press t")
    if phase is Phase.CHECKLIST:
        return _checklist_next(state, now)
    if phase is Phase.EXECUTING:
        return _execution_next(state, now)
    if phase is Phase.HEALTH and state.health_started is not None:
        left = state.health_started + profile.health.duration - now
        if left > 0:
            return Next(
                "monitor", None, f"health window: watch the metrics, {format_clock(left)} left"
            )
        return Next("cockpit", None, "health window over: waiting for every metric to be GREEN")
    return Next("cockpit", None, phase.value)


def _incident_next(state: State) -> Next:
    """R first, always; what the Monitor does beside it is said after it."""
    assert state.incident is not None
    if state.advisory is not None:
        return Next("anyone", "R", "rollback advised (see the banner): press R to roll back now")
    todo = []
    if state.readback_by is None:
        todo.append("read back the triggers (t)")
    if state.incident.plan_verified_by is None:
        todo.append("verify the rollback command (v)")
    if todo:
        return Next("anyone", "R", "R rolls back now; beside it, Monitor: " + " and ".join(todo))
    return Next("anyone", "R", "the Monitor has read back and verified: R rolls back now")


def _checklist_next(state: State, now: float) -> Next:
    assert state.profile is not None
    titles = {c.id: c.title for c in state.profile.checks}
    for role, key in (("operator", "c"), ("monitor", "k")):
        pending = manual_pending(state, role)
        if pending is not None:
            who = role.capitalize()
            return Next(role, key, f"{who}: confirm '{titles[pending]}', then press {key}")
    red = state.checks_green(now)
    if red:
        return Next("cockpit", "e", f"waiting for checks to be GREEN: {', '.join(red)} (e re-runs)")
    missing = state.baseline_missing(now)
    if missing:
        return Next(
            "cockpit",
            None,
            f"checks GREEN; waiting for a fresh PASS of {', '.join(missing)}: GO takes the"
            " baseline from them",
        )
    if "operator" not in state.go:
        return Next("operator", "g", "all checks GREEN: Operator, give your GO with g")
    return Next("monitor", "m", "Monitor, give your GO with m (or n for NO-GO)")


def _execution_next(state: State, now: float) -> Next:
    assert state.profile is not None
    running = state.running_step()
    if running is not None:
        return Next("monitor", None, f"step {running.id} running: Monitor watches the metrics")
    window = state.window
    if window is not None and window.kind == "stop_point":
        verdict = state.window_verdict(now)
        if verdict is Verdict.INCONCLUSIVE:
            return Next("monitor", "y", "stop point INCONCLUSIVE: Monitor looks, y accepts or R")
        return Next("cockpit", None, f"stop point after {window.step_id}: waiting for GREEN")
    upcoming = state.next_step()
    if upcoming is None:
        return Next("cockpit", None, "all steps done")
    index, step = upcoming
    s = state.steps[index]
    if s.status is StepStatus.FAILED:
        return Next("anyone", "R", f"step {step.id} FAILED: press R to roll back")
    if state.profile.roles.two_person_rule and s.verified_by is None:
        return Next("monitor", "v", f"Monitor: verify the command of step {index + 1}, press v")
    if step.approval is not None and s.approved_by is None:
        ask = confirm.approval_ask(state.profile, step.id)
        then = f", then type {ask.answers[0]}" if ask is not None else ""
        return Next(
            "approver", "p", f"step {index + 1} needs the {step.approval}'s approval: p{then}"
        )
    if step.irreversible and s.irreversible_ack_by is None:
        ask = confirm.irreversible_ask(state.profile, step.id)
        then = f", then type {ask.answers[0]}" if ask is not None else ""
        return Next(
            "operator", "i", f"step {index + 1} is a POINT OF NO RETURN: i to acknowledge{then}"
        )
    return Next("operator", "x", f"Operator: run step {index + 1} ({step.title}) with x")


def keys_for(state: State, nxt: Next) -> list[str]:
    """The keys that make sense now, in the order the key bar shows them.

    R is always first; then the key of the next action; then what anyone may press in this
    phase. Keys that would only be refused are left out to keep the bar short.
    """
    phase = state.phase
    if phase.finished:
        return ["q"]
    keys = ["R"]
    if nxt.key is not None and nxt.key not in ("R", "q"):
        keys.append(nxt.key)
    if phase is Phase.CHECKLIST:
        keys += ["g", "m", "e", "n"]
    elif phase is Phase.BRIEFING:
        keys += ["n"]
    elif phase is Phase.INCIDENT and state.incident is not None:
        if state.readback_by is None:
            keys.append("t")
        if state.incident.plan_verified_by is None:
            keys.append("v")
        keys += [
            k for role, k in (("operator", "c"), ("monitor", "k")) if manual_pending(state, role)
        ]
        keys.append("e")
    if state.rollback is None:
        keys.append("u" if state.hold is not None else "h")
    if state.t0 is None:
        keys.append("A")
    keys.append("q")
    return list(dict.fromkeys(keys))
