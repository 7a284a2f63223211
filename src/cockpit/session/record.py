"""The pipeline every intent goes through: decide, record (fsync), apply, announce, notify.

Intent before execution: an action is on disk before anything acts on it, and an action the
journal cannot record is refused. The one exception is the way back: ROLLING BACK NOW and the
automatic rollback never depend on the journal. When the journal has failed, the events that
follow are still applied (the screen shows the truth) and kept in memory as *unrecorded*, so
the screen and the exit message can say exactly what is missing from the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from cockpit.announce import ANNOUNCED_KINDS, Webhook, announcement, state_before
from cockpit.clock import Clock
from cockpit.durations import format_clock
from cockpit.engine import SYSTEM, Event, Refusal, State, apply, decide
from cockpit.engine import intents as i
from cockpit.engine.kinds import HIGH_RATE_KINDS, Kind
from cockpit.journal import Actor, Batcher, Journal, JournalFailed

log = logging.getLogger(__name__)

Listener = Callable[[list[Event]], None]

T0_KINDS = frozenset({Kind.EXECUTION_STARTED, Kind.INCIDENT_DECLARED})
"""Events that set T0: recorded at T+00:00."""


@dataclass(frozen=True)
class Unrecorded:
    """An event that happened and was applied, but is not in the journal."""

    event: Event
    t_plus: float | None
    text: str
    """In words, for the screen and the exit message."""
    announced: bool
    """Whether it is a decision the crew hears about (the rest is plumbing: pids, snapshots)."""


@dataclass(frozen=True)
class JournalFailure:
    """What the screen says once the journal failed: why, and what is not on record."""

    why: str
    decisions: tuple[str, ...]
    """The decisions not on record, in words, oldest first."""
    events: int
    """How many events are not on record (the decisions among them)."""
    samples: int
    """How many metric samples are not on record."""


def is_action(intent: i.Intent) -> bool:
    """Whether an intent is a person's action (as opposed to a measurement or the clock)."""
    return not isinstance(
        intent,
        i.RecordSample
        | i.RecordCheck
        | i.Tick
        | i.ProcessStarted
        | i.ProcessExited
        | i.RecordSnapshot
        | i.RecordLoopHealth
        | i.MarkNotStarted
        | i.LockChanged
        | i.RecordAttach
        | i.RecordHistory
        | i.TakeBaseline,
    )


def never_waits_for_the_journal(intent: i.Intent, events: list[Event]) -> bool:
    """The way back does not depend on the record: R, and anything that starts a rollback."""
    return isinstance(intent, i.RollBackNow) or any(e.kind == Kind.ROLLBACK_STARTED for e in events)


class Recorder:
    """Decides intents against the state, records the events, folds them in, tells listeners.

    Attributes:
        state: The session's state: a fold of the events applied so far.
        failed: Why the journal can no longer record, or None while it can.
        unrecorded: Decisions applied after the journal failed (not on disk).
        unrecorded_samples: How many metric samples could not be recorded.
    """

    def __init__(
        self, journal: Journal, state: State, clock: Clock, webhook: Webhook | None = None
    ) -> None:
        self.journal = journal
        self.state = state
        self.clock = clock
        self.webhook = webhook
        self.listeners: list[Listener] = []
        self.announcements: deque[str] = deque(maxlen=200)
        self.failed: str | None = None
        self.unrecorded: list[Unrecorded] = []
        self.unrecorded_samples = 0
        self._batcher = Batcher(journal, Kind.SAMPLES, actor=SYSTEM)
        self._waiting: list[tuple[str, Event]] = []
        self.last_process: Event | None = None
        """The last ``process.started`` applied (the screen follows that process's output)."""

    def decide(self, intent: i.Intent) -> list[Event]:
        """Decide, record and apply an intent; return its events.

        Raises:
            Refusal: the engine refused, or the journal cannot record an action (never for
                the way back).
        """
        if self.failed is not None and is_action(intent) and not isinstance(intent, i.RollBackNow):
            raise Refusal(
                f"the journal failed ({self.failed}): no new actions can be recorded; "
                "R still rolls back"
            )
        try:
            events = decide(self.state, intent)
        except Refusal as refusal:
            self._refused(intent, refusal.reason)
            raise
        self.commit(intent, events)
        return events

    def commit(self, intent: i.Intent, events: list[Event]) -> None:
        """Record ``events`` (decided for ``intent``), apply them and tell the listeners."""
        durable = self._record(events)
        if not durable and is_action(intent) and not never_waits_for_the_journal(intent, events):
            # Intent before execution: what is not recorded must not happen.
            raise Refusal(f"the journal failed: {self.failed}; nothing was done")
        for event in events:
            before = state_before(self.state) if event.kind in ANNOUNCED_KINDS else None
            t_plus = self.state.t_plus(event.wall)
            apply(self.state, event)
            if event.kind == Kind.PROCESS_STARTED:
                self.last_process = event
            text = announcement(event, before, self.state) if before is not None else None
            if text:
                self._announce(text, event)
            if not durable:
                self._keep_unrecorded(event, t_plus, text)
        if events:  # a tick that decided nothing: nobody needs to redraw
            for listener in list(self.listeners):
                listener(events)

    def _record(self, events: list[Event]) -> bool:
        """Write the events; False when the journal has failed (now or earlier)."""
        if self.failed is not None:
            return False
        try:
            for event in events:
                if event.kind in HIGH_RATE_KINDS:
                    self._batcher.add(
                        str(event.body.get("id", event.kind)), {"wall": event.wall, **event.body}
                    )
                    continue
                self.flush()
                # These are T0 itself; the state learns T0 only when one is applied.
                t_plus = 0.0 if event.kind in T0_KINDS else self.state.t_plus(event.wall)
                self.journal.append(
                    event.kind, event.body, actor=event.actor, wall=event.wall, t_plus=t_plus
                )
        except JournalFailed as exc:
            self._failed(exc)
            return False
        return True

    def _failed(self, exc: JournalFailed) -> None:
        """The journal failed: from now on nothing new is recorded; the screen says so now."""
        self.failed = str(exc)
        log.error("journal failed: %s", exc)
        for listener in list(self.listeners):
            listener([])

    def _keep_unrecorded(self, event: Event, t_plus: float | None, text: str | None) -> None:
        if event.kind in HIGH_RATE_KINDS:
            self.unrecorded_samples += 1
            return
        self.unrecorded.append(
            Unrecorded(event, t_plus, text or describe_plainly(event), announced=bool(text))
        )

    def flush(self) -> None:
        """Write batched samples now (before any decision, so the journal keeps the order).

        Raises:
            JournalFailed: the journal cannot record (``failed`` says why from then on).
        """
        if len(self._batcher) and self.failed is None:
            wall = self.clock.wall()
            count = len(self._batcher)
            try:
                self._batcher.flush(wall=wall, t_plus=self.state.t_plus(wall))
            except JournalFailed as exc:
                self.unrecorded_samples += count
                self._failed(exc)
                raise

    def note(self, text: str) -> None:
        """Record a note (something worth knowing that changes no state), if the journal can."""
        self.fact(Kind.NOTE, {"text": text}, SYSTEM)

    def fact(self, kind: Kind, body: dict[str, object], actor: Actor) -> None:
        """Record something that changes no state (a note, a refused attach), if the journal
        can; it is not an event, so the fold never sees it."""
        if self.failed is not None:
            return
        with contextlib.suppress(JournalFailed, ValueError, TypeError):
            self.flush()
            wall = self.clock.wall()
            self.journal.append(kind, body, actor=actor, wall=wall, t_plus=self.state.t_plus(wall))

    def _refused(self, intent: i.Intent, reason: str) -> None:
        if not is_action(intent) or self.failed is not None:
            return
        with contextlib.suppress(JournalFailed, ValueError, TypeError):
            self.flush()
            self.journal.append(
                Kind.REFUSED,
                {"intent": type(intent).__name__, "reason": reason},
                actor=intent.actor,
                wall=intent.wall,
                t_plus=self.state.t_plus(intent.wall),
            )

    def _announce(self, text: str, event: Event) -> None:
        """Show an announcement, and post it to the webhook without waiting for it."""
        self.announcements.append(text)
        if self.webhook is None or self.state.profile is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # No loop yet (the session's first events, INCIDENT DECLARED among them): posted
            # as soon as the clock runs (post_waiting).
            self._waiting.append((text, event))
            return
        self.post_waiting()  # in order: what waited for the loop goes first
        self._post(text, event)

    def post_waiting(self) -> None:
        """Post the announcements made before the event loop ran, in order, in the background."""
        waiting, self._waiting = self._waiting, []
        for text, event in waiting:
            self._post(text, event)

    def _post(self, text: str, event: Event) -> None:
        if self.webhook is None or self.state.profile is None:
            return
        self.webhook.send(
            text,
            kind=event.kind,
            deployment=self.state.profile.deployment.name,
            t_plus=self.state.t_plus(event.wall),
            on_error=self._webhook_failed,
        )

    def _webhook_failed(self, error: str) -> None:
        self.announcements.append(error)
        self.note(error)

    def failure(self) -> JournalFailure | None:
        """Why the journal failed and what is not on record; None while it records."""
        if self.failed is None:
            return None
        return JournalFailure(
            self.failed,
            tuple(u.text for u in self.unrecorded if u.announced),
            len(self.unrecorded),
            self.unrecorded_samples,
        )

    def unrecorded_lines(self) -> list[str]:
        """What happened but is not in the journal, a line each (empty while it records)."""
        lines = [
            f"{'T+' + format_clock(u.t_plus) if u.t_plus is not None else 'before T0'}  {u.text}"
            for u in self.unrecorded
        ]
        if self.unrecorded_samples:
            lines.append(f"and {self.unrecorded_samples} metric samples")
        return lines


def describe_plainly(event: Event) -> str:
    """An event without an announcement, in a few words."""
    b = event.body
    if event.kind == Kind.PROCESS_STARTED:
        what = (
            f"rollback command {int(b.get('ref', 0)) + 1}"
            if b.get("purpose") == "rollback"
            else f"step {b.get('ref')}"
        )
        return f"{what} started (pid {b.get('pid')})"
    if event.kind == Kind.ROLLBACK_COMMAND_FINISHED:
        how = "exit 0" if b.get("ok") else str(b.get("why"))
        note = f"; {b['note']}" if b.get("note") else ""
        return f"rollback command {int(b.get('index', 0)) + 1} finished: {how}{note}"
    if event.kind == Kind.ROLLBACK_SNAPSHOT:
        return "snapshot of the metrics and the output taken"
    facts = ", ".join(f"{k} {v}" for k, v in b.items() if isinstance(v, str | int | float | bool))
    return f"{event.kind}" + (f" ({facts})" if facts else "")
