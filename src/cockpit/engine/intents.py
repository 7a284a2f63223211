"""Intents: what someone (a person, a probe, the runner, the clock) asks the engine to do.

Every intent carries the wall time at which it was made; the engine never reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.journal.records import Actor
from cockpit.sample import Sample


@dataclass(frozen=True)
class Intent:
    """Base of all intents."""

    actor: Actor
    wall: float


@dataclass(frozen=True)
class StartSession(Intent):
    """Open a session for a profile with a named crew."""

    profile: dict[str, Any]
    profile_sha256: str
    profile_path: str
    operator: str
    monitor: str
    approvers: tuple[str, ...] = ()
    os_user: str = ""
    host: str = ""
    kind: str = "deploy"
    """"deploy", or "incident": the bad release is already out and T0 is now."""
    baseline_at: float | None = None
    """An incident's baseline time, when the crew gave one (``--baseline-at``)."""


@dataclass(frozen=True)
class ConfirmReadback(Intent):
    """The Monitor reads the rollback triggers back (closing the loop)."""

    typed: str | None = None
    """The Monitor's answer to the readback question (``engine.confirm.readback_ask``)."""


@dataclass(frozen=True)
class RecordCheck(Intent):
    """A readiness check was measured."""

    sample: Sample


@dataclass(frozen=True)
class ConfirmManualCheck(Intent):
    """A person confirms a manual readiness check."""

    check_id: str


@dataclass(frozen=True)
class Go(Intent):
    """A role gives its GO."""


@dataclass(frozen=True)
class NoGo(Intent):
    """A role calls NO-GO: the deploy holds."""

    reason: str


@dataclass(frozen=True)
class VerifyStep(Intent):
    """The Monitor verifies the next step's command before it runs."""

    step_id: str
    command: tuple[str, ...] = ()
    """The command as the Monitor saw it, references resolved; recorded as verified."""


@dataclass(frozen=True)
class VerifyRollbackPlan(Intent):
    """In an incident, the Monitor verifies the rollback commands (R never waits for it)."""

    commands: tuple[tuple[str, ...], ...] = ()
    """The commands as the Monitor saw them, references resolved."""


@dataclass(frozen=True)
class ApproveStep(Intent):
    """An approver records approval of a gated step."""

    step_id: str
    typed: str | None = None
    """What the approver typed to confirm a production gate (the environment's name)."""


@dataclass(frozen=True)
class AcknowledgeIrreversible(Intent):
    """The Operator acknowledges that the next step is a point of no return."""

    step_id: str
    typed: str | None = None
    """What the Operator typed to confirm it (the service's or environment's name)."""


@dataclass(frozen=True)
class RunStep(Intent):
    """The Operator asks to run the next step."""

    step_id: str
    command: tuple[str, ...] = ()
    """The command as it will run, references resolved (recorded with the start)."""


@dataclass(frozen=True)
class ProcessStarted(Intent):
    """The runner started a step's or a rollback's process."""

    purpose: str  # "step" or "rollback"
    ref: str  # step id, or the rollback command's index
    pid: int
    pgid: int
    output: str
    argv: tuple[str, ...] = ()
    supervisor_pid: int = 0
    started_wall: float = 0.0
    found: str = ""
    """Set on resume: what reconciling the record with the system found ("not started":
    started now; "running"; "ended"). Empty for a process started the ordinary way."""


@dataclass(frozen=True)
class MarkNotStarted(Intent):
    """A step was recorded as starting but its process never started (the cockpit stopped
    in between): it has not run, and the crew decides what next."""

    step_id: str
    why: str


@dataclass(frozen=True)
class ProcessExited(Intent):
    """A step's or rollback's process ended."""

    purpose: str
    ref: str
    exit_code: int | None
    signal: int | None = None
    timed_out: bool = False
    duration: float = 0.0
    error: str | None = None
    note: str | None = None
    """What went wrong around the process, not with it (its output could not be kept)."""


@dataclass(frozen=True)
class RecordSample(Intent):
    """A stop-point metric was sampled."""

    sample: Sample


@dataclass(frozen=True)
class RecordHistory(Intent):
    """A metric's history was read when the cockpit opened (or could not be)."""

    metric_id: str
    start: float
    end: float
    step: float
    points: tuple[tuple[float, float | None], ...] = ()
    """(time, value) in time order; None for a gap."""
    error: str | None = None
    """Why there is no history (Prometheus down, no data, another kind of source)."""


@dataclass(frozen=True)
class TakeBaseline(Intent):
    """In an incident, once the history is read: take the baseline from before it began."""

    before: tuple[tuple[str, tuple[tuple[float, float | None], ...]], ...] = ()
    """History read for the crew's baseline time when it lies before the history window:
    (metric id, points)."""


@dataclass(frozen=True)
class Tick(Intent):
    """Time passed: timers (the 5-minute rule, the health window, verification) are due."""


@dataclass(frozen=True)
class Hold(Intent):
    """Stop progression, with a reason. Holding is not rolling back."""

    reason: str


@dataclass(frozen=True)
class Resume(Intent):
    """Lift a hold."""


@dataclass(frozen=True)
class RollBackNow(Intent):
    """ROLLING BACK NOW."""

    reason: str = "rollback requested"


@dataclass(frozen=True)
class AcceptInconclusive(Intent):
    """The Monitor accepts an INCONCLUSIVE stop point after looking at it."""

    reason: str


@dataclass(frozen=True)
class Abort(Intent):
    """Abandon the session before anything was deployed."""

    reason: str


@dataclass(frozen=True)
class RecordSnapshot(Intent):
    """What the system looked like when the rollback began (taken after it started)."""

    metrics: dict[str, Any]
    output_tail: list[str]


@dataclass(frozen=True)
class RecordLoopHealth(Intent):
    """A background loop (the clock, the probes, the checks, the output reader) reports a
    failed pass (``error``), that it stopped (``stopped``), or, with no error, that it works
    again."""

    loop: str
    error: str | None = None
    stopped: bool = False


LOCK_CHANGES = ("taken", "lost", "kept", "released")


@dataclass(frozen=True)
class LockChanged(Intent):
    """The deploy lock was taken (or taken again), lost, kept after a rollback, or released.

    ``change`` is one of ``LOCK_CHANGES``; ``details`` is what the record says (who holds it,
    why it was lost, the rollback's reason, who released it)."""

    change: str
    details: dict[str, Any]


@dataclass(frozen=True)
class RecordAttach(Intent):
    """A crew member joined the session from their own terminal (``joined``), or left
    (``left``); ``details`` says who (OS user, uid, terminal), as what role, and why they
    left."""

    change: str
    details: dict[str, Any]
