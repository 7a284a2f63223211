"""Every kind of record a session journal holds: one name for each, in one place.

The engine's events are folded into the state (``state.py``); the journal's own records
(batched samples, refusals, notes) are not events. ``Kind`` is a ``StrEnum``: a member equals
its string, so records read back from a journal (plain strings) and kinds written here meet.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """A record's kind."""

    # the briefing and the checklist
    SESSION_STARTED = "session.started"
    SESSION_RESUMED = "session.resumed"
    READBACK_CONFIRMED = "readback.confirmed"
    CHECK_RESULT = "check.result"
    CHECK_CONFIRMED = "check.confirmed"
    GO = "go"
    NOGO = "nogo"
    SESSION_ABORTED = "session.aborted"
    # execution
    EXECUTION_STARTED = "execution.started"
    HOLD = "hold"
    RESUME = "resume"
    STEP_VERIFIED = "step.verified"
    STEP_APPROVED = "step.approved"
    STEP_IRREVERSIBLE_ACKNOWLEDGED = "step.irreversible_acknowledged"
    STEP_STARTING = "step.starting"
    STEP_NOT_STARTED = "step.not_started"
    PROCESS_STARTED = "process.started"
    STEP_FINISHED = "step.finished"
    SAMPLE = "sample"
    STOP_POINT_PASSED = "stop_point.passed"
    STOP_POINT_ACCEPTED = "stop_point.accepted"
    HEALTH_STARTED = "health.started"
    WINDOW_GREEN = "window.green"
    WINDOW_NOT_GREEN = "window.not_green"
    SESSION_COMPLETE = "session.complete"
    # the way back
    ROLLBACK_ADVISED = "rollback.advised"
    ROLLBACK_STARTED = "rollback.started"
    ROLLBACK_SNAPSHOT = "rollback.snapshot"
    ROLLBACK_COMMAND_FINISHED = "rollback.command_finished"
    ROLLBACK_VERIFYING = "rollback.verifying"
    ROLLBACK_VERIFIED = "rollback.verified"
    ROLLBACK_NOT_VERIFIED = "rollback.not_verified"
    # the deploy lock
    LOCK_TAKEN = "lock.taken"
    LOCK_LOST = "lock.lost"
    LOCK_KEPT = "lock.kept"
    """After a rollback: kept, marked rolled back, until someone releases it."""
    LOCK_RELEASED = "lock.released"
    # the crew in their own terminals (cockpit attach)
    ATTACH_JOINED = "attach.joined"
    ATTACH_LEFT = "attach.left"
    METRIC_HISTORY = "metric.history"
    """What a Prometheus metric did before the cockpit opened (or why that is not known)."""
    # the incident: the bad release is already out
    INCIDENT_DECLARED = "incident.declared"
    """T0 of an incident session: the moment the room declared it."""
    BASELINE_TAKEN = "baseline.taken"
    """An incident's baseline: from before it began (its history), or the thresholds."""
    ROLLBACK_PLAN_VERIFIED = "rollback.plan_verified"
    """The Monitor verified the rollback commands (beside R, never in front of it)."""
    STABILIZATION_STARTED = "stabilization.started"
    """A verified incident rollback: the metrics must now stay inside their thresholds."""
    INCIDENT_MITIGATED = "incident.mitigated"
    """Rolled back, verified against the baseline and stable: the incident is mitigated."""
    # the cockpit's own health
    LOOP_FAILED = "loop.failed"
    LOOP_STOPPED = "loop.stopped"
    LOOP_RECOVERED = "loop.recovered"
    # journal records that are not events
    SAMPLES = "samples"
    """Samples batched into one record (each item is a ``sample`` event)."""
    REFUSED = "refused"
    """An action the engine (or a failed journal) refused, with the reason."""
    NOTE = "note"
    """Something worth knowing that changes no state (a webhook that failed)."""
    ATTACH_REFUSED = "attach.refused"
    """Someone the profile does not name tried to join the session (who, from where)."""


NOT_EVENTS = frozenset({Kind.SAMPLES, Kind.REFUSED, Kind.NOTE, Kind.ATTACH_REFUSED})
"""Journal records that are not engine events."""
HIGH_RATE_KINDS = frozenset({Kind.SAMPLE})
"""Events that arrive many times a second: batched into one record per interval."""
