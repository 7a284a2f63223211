"""Status announcements: one line per event that the crew (and a chat) should hear about.

``announcement`` is pure: given an event and the state before and after it, the line to show,
or None. ``Webhook`` posts lines to a chat webhook; it never raises and never blocks anything,
because an announcement must never delay a deploy or a rollback.

What is announced: phase start and completion, automation results (every readiness check
GREEN, a check turning RED), approval requests (a gated step is next), rollback decisions
(advised, started automatically or by whom and why, verified or not), holds and resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from cockpit.durations import format_clock, format_duration
from cockpit.engine import Event, Phase, State
from cockpit.engine.kinds import Kind
from cockpit.runner.redact import Redactor
from cockpit.sample import Status

ANNOUNCED_KINDS = frozenset(
    {
        Kind.SESSION_STARTED,
        Kind.READBACK_CONFIRMED,
        Kind.CHECK_RESULT,
        Kind.CHECK_CONFIRMED,
        Kind.GO,
        Kind.NOGO,
        Kind.EXECUTION_STARTED,
        Kind.HOLD,
        Kind.RESUME,
        Kind.STEP_APPROVED,
        Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED,
        Kind.STEP_STARTING,
        Kind.STEP_FINISHED,
        Kind.STOP_POINT_PASSED,
        Kind.STOP_POINT_ACCEPTED,
        Kind.HEALTH_STARTED,
        Kind.WINDOW_NOT_GREEN,
        Kind.WINDOW_GREEN,
        Kind.ROLLBACK_ADVISED,
        Kind.ROLLBACK_STARTED,
        Kind.ROLLBACK_COMMAND_FINISHED,
        Kind.ROLLBACK_VERIFYING,
        Kind.ROLLBACK_VERIFIED,
        Kind.ROLLBACK_NOT_VERIFIED,
        Kind.SESSION_COMPLETE,
        Kind.SESSION_ABORTED,
        Kind.PROCESS_STARTED,
        Kind.STEP_NOT_STARTED,
        Kind.LOCK_TAKEN,
        Kind.ATTACH_JOINED,
        Kind.LOCK_LOST,
        Kind.LOCK_KEPT,
        Kind.LOCK_RELEASED,
        Kind.LOOP_FAILED,
        Kind.LOOP_STOPPED,
        Kind.LOOP_RECOVERED,
        Kind.INCIDENT_DECLARED,
        Kind.BASELINE_TAKEN,
        Kind.ROLLBACK_PLAN_VERIFIED,
        Kind.STABILIZATION_STARTED,
        Kind.INCIDENT_MITIGATED,
    }
)
"""Kinds that may be announced; for any other kind ``announcement`` returns None, so a caller
can skip copying the state before such events (samples arrive many times a second)."""


def state_before(state: State) -> State:
    """A cheap copy of ``state`` that stays valid as ``state_before`` while events are applied.

    ``apply`` changes the state in place; a deep copy costs milliseconds (sample histories),
    this one microseconds: it copies what ``apply`` mutates and ``announcement`` reads (checks,
    GOs, steps) and shares the rest, which ``apply`` replaces rather than changes.
    """
    before = copy.copy(state)
    before.checks = {k: copy.copy(v) for k, v in state.checks.items()}
    before.go = dict(state.go)
    before.steps = [copy.copy(s) for s in state.steps]
    return before


def _who(event: Event) -> str:
    return f"{event.actor.user} ({event.actor.role.capitalize()})"


def _step_label(state: State, step_id: str) -> str:
    if state.profile is not None:
        for index, (_, step) in enumerate(state.profile.steps()):
            if step.id == step_id:
                return f"step {index + 1}/{len(state.steps)} {step_id} ({step.title})"
    return f"step {step_id}"


def _approval_request(state: State) -> str:
    """' — APPROVAL NEEDED ...' when the next step is gated and not yet approved."""
    if state.phase is not Phase.EXECUTING:
        return ""
    upcoming = state.next_step()
    if upcoming is None:
        return ""
    index, step = upcoming
    if step.approval is None or state.steps[index].approved_by is not None:
        return ""
    return f" — APPROVAL NEEDED: {_step_label(state, step.id)} waits for the {step.approval}"


def _check_result(event: Event, before: State, after: State) -> str | None:
    sample_id = str(dict(event.body["sample"])["id"])
    check_before = before.checks.get(sample_id)
    check_after = after.checks.get(sample_id)
    if check_after is None or check_after.sample is None or after.profile is None:
        return None
    sample = check_after.sample
    old = check_before.sample.status if check_before and check_before.sample else None
    title = next((c.title for c in after.profile.checks if c.id == sample_id), sample_id)
    if before.checks_green() and not after.checks_green():
        return "Readiness: every check GREEN — ready for the GO call"
    # Announce a change only: the checklist re-runs every few seconds.
    if sample.status is not Status.PASS and sample.status is not old:
        return f"Readiness check RED: {title}: {sample.status.value}: {sample.detail}"
    if sample.status is Status.PASS and old is not None and old is not Status.PASS:
        return f"Readiness check GREEN again: {title}"
    return None


def announcement(event: Event, state_before: State, state_after: State) -> str | None:
    """The one-line announcement of an event, or None for events that are not announced."""
    if event.kind not in ANNOUNCED_KINDS:
        return None
    b = event.body
    after = state_after
    kind = event.kind
    if kind == Kind.SESSION_STARTED:
        if after.is_incident:
            return None  # INCIDENT DECLARED follows at once and says it all
        assert after.profile is not None
        d = after.profile.deployment
        return (
            f"BRIEFING: {d.name} ({d.service} to {', '.join(d.environments)}) — Operator "
            f"{after.crew.get('operator')}, Monitor {after.crew.get('monitor')}"
        )
    if kind == Kind.READBACK_CONFIRMED:
        return f"Rollback triggers read back by {_who(event)} — CHECKLIST"
    if kind == Kind.CHECK_RESULT:
        return _check_result(event, state_before, after)
    if kind == Kind.CHECK_CONFIRMED:
        if state_before.checks_green() and not after.checks_green():
            return "Readiness: every check GREEN — ready for the GO call"
        return None
    if kind == Kind.GO:
        return f"GO from {_who(event)}"
    if kind == Kind.NOGO:
        return f"NO-GO from {_who(event)}: {b.get('reason')} — deploy on HOLD"
    if kind == Kind.EXECUTION_STARTED:
        return "EXECUTION STARTED: T0, the clock runs" + _approval_request(after)
    if kind == Kind.HOLD:
        return f"HOLD by {_who(event)}: {b.get('reason')}"
    if kind == Kind.RESUME:
        held = b.get("held_for")
        span = f" after {format_clock(float(held))} on hold" if held is not None else ""
        reason = f" (held for: {state_before.hold.reason})" if state_before.hold else ""
        return f"RESUMED by {_who(event)}{span}{reason}"
    if kind == Kind.STEP_APPROVED:
        return f"Approved: {_step_label(after, str(b.get('step')))} by {_who(event)}"
    if kind == Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED:
        return (
            f"POINT OF NO RETURN acknowledged by {_who(event)}: "
            f"{_step_label(after, str(b.get('step')))}"
        )
    if kind == Kind.STEP_STARTING:
        return f"STARTED {_step_label(after, str(b.get('step')))}"
    if kind == Kind.STEP_FINISHED:
        label = _step_label(after, str(b.get("step")))
        if b.get("ok"):
            return f"Finished {label}: OK; stop point being checked"
        return f"FAILED {label}: {b.get('why')}"
    if kind == Kind.STOP_POINT_PASSED:
        label = _step_label(after, str(b.get("step")))
        return f"Stop point GREEN after {label} ({b.get('how')})" + _approval_request(after)
    if kind == Kind.STOP_POINT_ACCEPTED:
        return f"INCONCLUSIVE stop point accepted by {_who(event)}: {b.get('reason')}"
    if kind == Kind.HEALTH_STARTED:
        duration = b.get("duration")
        span = f" ({format_duration(float(duration))})" if duration is not None else ""
        return f"All steps done — HEALTH WINDOW started{span}"
    if kind == Kind.WINDOW_NOT_GREEN:
        return f"Health window not GREEN ({b.get('verdict')}): contingency countdown running"
    if kind == Kind.WINDOW_GREEN:
        return "Health window GREEN again"
    if kind == Kind.ROLLBACK_ADVISED:
        return f"ROLLBACK ADVISED: {b.get('reason')}"
    if kind == Kind.ROLLBACK_STARTED:
        how = "automatic" if b.get("automatic") else f"by {_who(event)}"
        return f"ROLLING BACK NOW ({how}): {b.get('reason')}{before_the_monitor(b)}"
    if kind == Kind.ROLLBACK_COMMAND_FINISHED:
        if b.get("ok"):
            return None  # the verification line follows
        return f"Rollback command {int(b.get('index', 0)) + 1} FAILED: {b.get('why')}"
    if kind == Kind.ROLLBACK_VERIFYING:
        return f"Rollback commands done — verifying against {baseline_words(after)}"
    if kind == Kind.ROLLBACK_VERIFIED:
        return f"ROLLED BACK — VERIFIED: metrics back at {baseline_words(after)}"
    if kind == Kind.ROLLBACK_NOT_VERIFIED:
        differences = "; ".join(str(d) for d in b.get("differences", []))
        return "ROLLED BACK — NOT VERIFIED" + (f": {differences}" if differences else "")
    if kind in _INCIDENT_KINDS:
        return _incident(event, after)
    if kind == Kind.SESSION_COMPLETE:
        name = after.profile.deployment.name if after.profile else "deploy"
        return f"COMPLETE: {name} — health window GREEN to the end"
    if kind == Kind.SESSION_ABORTED:
        return f"ABORTED by {_who(event)}: {b.get('reason')}"
    if kind == Kind.PROCESS_STARTED:
        return _found_on_resume(b, after)
    if kind == Kind.STEP_NOT_STARTED:
        return (
            f"NOT RUN: {_step_label(after, str(b.get('step')))} was recorded as starting but "
            "never started (the cockpit stopped first). Run it again, or roll back"
        )
    if kind == Kind.LOOP_FAILED:
        return f"{str(b.get('loop')).upper()} FAILING: {b.get('error')} (affects {b.get('duty')})"
    if kind == Kind.LOOP_STOPPED:
        return (
            f"{str(b.get('loop')).upper()} STOPPED: {b.get('error')}; not running: {b.get('duty')}"
        )
    if kind == Kind.LOOP_RECOVERED:
        return f"{str(b.get('loop')).upper()} works again"
    if kind == Kind.ATTACH_JOINED:
        where = f" on {b['tty']}" if b.get("tty") else ""
        return f"{b.get('user')} joined as {str(b.get('role')).capitalize()}{where}"
    if kind == Kind.LOCK_TAKEN:
        locks = ", ".join(str(k) for k in b.get("locks", []))
        if b.get("again"):
            return f"LOCK held again on {locks}: new steps may run"
        over = " (taken over from a session that was gone)" if b.get("taken_over") else ""
        return f"Deploy lock taken on {locks}{over}"
    if kind == Kind.LOCK_LOST:
        return f"LOCK LOST: {b.get('reason')} — no new step; R still rolls back"
    if kind == Kind.LOCK_KEPT:
        return f"Deploy lock kept: {b.get('text')} — release it with cockpit unlock"
    if kind == Kind.LOCK_RELEASED:
        return f"Deploy lock released by {b.get('by')}: {b.get('reason')}"
    return None


_INCIDENT_KINDS = frozenset(
    {
        Kind.INCIDENT_DECLARED,
        Kind.BASELINE_TAKEN,
        Kind.ROLLBACK_PLAN_VERIFIED,
        Kind.STABILIZATION_STARTED,
        Kind.INCIDENT_MITIGATED,
    }
)


def before_the_monitor(body: Any) -> str:
    """'; before the Monitor's readback and command verification' when R came first."""
    before = body.get("before") if isinstance(body, dict) else None
    if not before or not isinstance(before, list):
        return ""
    return "; before the Monitor's " + " and ".join(str(b) for b in before)


def baseline_summary(body: Any, state: State) -> str:
    """An incident's baseline in one line: from when, and each verified metric's value or
    "threshold" (the record and the report say why)."""
    at = body.get("at")
    source = body.get("source")
    when = ""
    if isinstance(at, int | float):
        clock = dt.datetime.fromtimestamp(at, tz=dt.UTC).strftime("%H:%M:%S")
        t = state.t_plus(at)
        rel = "" if t is None else (" T-" if t < 0 else " T+") + format_clock(abs(t))
        when = f" ({clock}{rel})"
    head = {
        "red-stretch": f"from before the first RED stretch{when}",
        "baseline-at": f"as at the crew's time{when}",
    }.get(str(source), "none: the history shows no RED stretch")
    parts = []
    for metric_id, entry in dict(body.get("metrics") or {}).items():
        value = entry.get("value") if isinstance(entry, dict) else None
        unit = ""
        if state.profile is not None and metric_id in {m.id for m in state.profile.metrics}:
            unit = state.profile.metric(metric_id).unit
        if isinstance(value, int | float):
            parts.append(f"{metric_id} {value:.3g}{' ' + unit if unit else ''}")
        else:
            parts.append(f"{metric_id} against its threshold (no history)")
    return head + (": " + ", ".join(parts) if parts else "")


def baseline_words(state: State) -> str:
    """What a rollback is verified against: the GO baseline, or in an incident the baseline
    from before it (or the thresholds, where no history exists)."""
    if not state.is_incident:
        return "the GO baseline"
    return "the baseline from before the incident"


def _incident(event: Event, after: State) -> str:
    b = event.body
    kind = event.kind
    if kind == Kind.INCIDENT_DECLARED:
        assert after.profile is not None
        d = after.profile.deployment
        return (
            f"INCIDENT DECLARED: {d.service} ({', '.join(d.environments)}) — T0, the clock runs;"
            f" R rolls back now. Operator {after.crew.get('operator')}, Monitor"
            f" {after.crew.get('monitor')}"
        )
    if kind == Kind.BASELINE_TAKEN:
        return f"BASELINE {baseline_summary(b, after)}"
    if kind == Kind.ROLLBACK_PLAN_VERIFIED:
        return f"Rollback commands verified by {_who(event)}"
    if kind == Kind.STABILIZATION_STARTED:
        duration = b.get("duration")
        span = f" ({format_duration(float(duration))})" if duration is not None else ""
        return f"Stabilization window started{span}: the metrics must stay GREEN"
    name = after.profile.deployment.service if after.profile else "the service"
    return f"INCIDENT MITIGATED — ROLLED BACK — VERIFIED: {name} is back and stayed GREEN"


def _found_on_resume(body: Any, after: State) -> str | None:
    """What a resumed cockpit found of a process whose start was not recorded."""
    found = body.get("found")
    if not found:
        return None  # an ordinary start: the step's own line says it
    if body.get("purpose") == "rollback":
        what = f"Rollback command {int(body.get('ref', 0)) + 1}"
    else:
        what = _step_label(after, str(body.get("ref"))).capitalize()
    if found == "not started":
        return f"{what} was recorded but never started: STARTED NOW, on resume"
    if found == "running":
        return f"{what} had started unrecorded and is still running: following it"
    return f"{what} had started unrecorded and ended while the cockpit was down"


class Webhook:
    """Posts announcements as JSON to a chat webhook. The URL is a secret: never shown.

    ``post`` never raises: it returns None on success or a one-line error, redacted. ``send``
    fires a post as a task, in order after the previous one, so that a slow webhook delays
    only later announcements, never the caller.
    """

    def __init__(self, url: str, *, secrets: Sequence[str], timeout: float = 5.0) -> None:
        """A webhook at ``url``; every value in ``secrets`` (and the URL) is redacted."""
        self._url = url
        self.timeout = timeout
        hidden = [*secrets, url]
        with contextlib.suppress(Exception):
            import httpx

            parsed = httpx.URL(url)
            hidden += [str(parsed), parsed.raw_path.decode("ascii", "replace")]
        self._redactor = Redactor(hidden)
        self._last: asyncio.Task[str | None] | None = None
        self._tasks: set[asyncio.Task[str | None]] = set()

    def __repr__(self) -> str:
        return "Webhook(<redacted>)"

    def redact(self, text: str) -> str:
        """``text`` with every secret and the URL replaced."""
        return self._redactor.redact(text)

    async def post(
        self, text: str, *, kind: str, deployment: str, t_plus: float | None
    ) -> str | None:
        """POST ``{"text", "kind", "deployment", "t_plus"}``; None on success, else why."""
        payload: dict[str, Any] = {
            "text": self.redact(text),
            "kind": kind,
            "deployment": self.redact(deployment),
            "t_plus": t_plus,
        }
        try:
            import httpx

            # httpx's timeout is per phase; the deadline bounds the whole exchange.
            async with asyncio.timeout(self.timeout):
                async with httpx.AsyncClient(timeout=self.timeout) as client:
                    response = await client.post(self._url, json=payload)
        except TimeoutError:
            return f"webhook: no answer within {self.timeout:g}s"
        except Exception as exc:
            detail = str(exc) or type(exc).__name__
            return self.redact(f"webhook: {type(exc).__name__}: {detail}".splitlines()[0])
        if response.status_code >= 300:
            return f"webhook: answered HTTP {response.status_code}"
        return None

    def send(
        self,
        text: str,
        *,
        kind: str,
        deployment: str,
        t_plus: float | None,
        on_error: Callable[[str], None] | None = None,
    ) -> asyncio.Task[str | None]:
        """Post as a background task, after the previous one; ``on_error`` hears failures.

        Must be called from a running event loop. Returns at once.
        """
        previous = self._last

        async def run() -> str | None:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])  # keep the chat in order; never raises
            error = await self.post(text, kind=kind, deployment=deployment, t_plus=t_plus)
            if error is not None and on_error is not None:
                with contextlib.suppress(Exception):
                    on_error(error)
            return error

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._last = task
        return task

    async def drain(self, timeout: float | None = None) -> None:
        """Wait (at most ``timeout`` seconds) for posts in flight, e.g. before exiting."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
