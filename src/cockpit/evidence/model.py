"""A journal replayed for the evidence: its records, the final state and how to name times.

Everything in the evidence is derived from this object, which is derived only from the
journal's records: no clock, no file other than the journal, no profile on disk.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cockpit.durations import format_clock
from cockpit.engine import Event, State, apply, events_from_records
from cockpit.engine.events import SAMPLE
from cockpit.engine.kinds import Kind
from cockpit.journal import Actor, Record
from cockpit.profile.models import Profile
from cockpit.sample import Sample


class NotASession(ValueError):
    """The records verify but are not a cockpit session (empty, or do not replay)."""


@dataclass(frozen=True)
class LoggedSample:
    """One metric sample as the journal holds it, with the record it came in."""

    sample: Sample
    seq: int


@dataclass
class SessionRecord:
    """A verified journal and the state it folds into.

    Attributes:
        records: Every record, in order.
        state: The state after the last record.
        samples: Every metric sample, in journal order.
        journal_path: Where the journal is, when known (for the report's footer).
    """

    records: Sequence[Record]
    state: State
    samples: list[LoggedSample] = field(default_factory=list)
    journal_path: str | None = None

    @property
    def profile(self) -> Profile:
        """The profile recorded when the session started."""
        assert self.state.profile is not None
        return self.state.profile

    @property
    def t0(self) -> float | None:
        """Wall time of T0, or None if execution never started."""
        return self.state.t0

    @property
    def started_body(self) -> dict[str, Any]:
        """The body of the ``session.started`` record."""
        return dict(self.records[0].body)

    @property
    def last_hash(self) -> str:
        """The hash of the last record, which ties the evidence to the journal."""
        return self.records[-1].hash

    def of_kind(self, *kinds: str) -> list[Record]:
        """Records of some kinds, in order."""
        return [r for r in self.records if r.kind in kinds]

    def t_plus(self, wall: float) -> float | None:
        """Seconds since T0 for a wall time at or after T0, else None."""
        if self.t0 is None or wall < self.t0:
            return None
        return wall - self.t0

    def when(self, wall: float, t_plus: float | None = None) -> str:
        """``T+mm:ss`` after T0, ISO-8601 UTC wall time before it."""
        if t_plus is None:
            t_plus = self.t_plus(wall)
        return iso(wall) if t_plus is None else f"T+{format_clock(t_plus)}"

    def at(self, record: Record) -> str:
        """When a record happened, as :meth:`when` names it."""
        return self.when(record.wall, record.t_plus)

    def step_title(self, step_id: str) -> str:
        """A step's title, or its id if the profile does not know it."""
        for _, step in self.profile.steps():
            if step.id == step_id:
                return step.title
        return step_id

    def step_number(self, step_id: str) -> int:
        """A step's 1-based position in the procedure (0 if unknown)."""
        for index, (_, step) in enumerate(self.profile.steps()):
            if step.id == step_id:
                return index + 1
        return 0

    def metric_title(self, metric_id: str) -> str:
        """A metric's title, or its id."""
        try:
            return self.profile.metric(metric_id).title
        except KeyError:
            return metric_id

    def metric_unit(self, metric_id: str) -> str:
        """A metric's unit, or empty."""
        try:
            return self.profile.metric(metric_id).unit
        except KeyError:
            return ""


def iso(wall: float, *, millis: bool = False) -> str:
    """ISO-8601 UTC, e.g. ``2027-01-15T08:00:00Z`` (with milliseconds when asked)."""
    moment = dt.datetime.fromtimestamp(wall, tz=dt.UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def who(actor: Actor) -> str:
    """``grace (monitor)``, or ``cockpit`` for the cockpit's own decisions; with the OS
    identity where the record has it: ``grace (monitor, uid 1001, /dev/pts/3)``."""
    if actor.role == actor.user:
        return actor.user
    if actor.uid is not None:
        where = f", {actor.tty}" if actor.tty else ""
        return f"{actor.user} ({actor.role}, uid {actor.uid}{where})"
    return f"{actor.user} ({actor.role})"


def compact(body: Any) -> str:
    """A body as one line of JSON, for kinds the evidence has no words for."""
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def load_session(records: Sequence[Record], journal_path: str | None = None) -> SessionRecord:
    """Replay verified records into a :class:`SessionRecord`.

    Raises:
        NotASession: no records, the first is not ``session.started``, or a record does not
            replay (named by its sequence number).
    """
    if not records:
        raise NotASession("the journal is empty: no session was recorded")
    if records[0].kind != Kind.SESSION_STARTED:
        raise NotASession(
            f"not a cockpit session: record 1 is {records[0].kind!r}, not 'session.started'"
        )
    state = State()
    samples: list[LoggedSample] = []
    for record in records:
        try:
            events: list[Event] = events_from_records([record])
            for event in events:
                apply(state, event)
                if event.kind == SAMPLE:
                    samples.append(LoggedSample(Sample.from_json(dict(event.body)), record.seq))
        except Exception as exc:  # a hash-valid record the engine cannot fold
            raise NotASession(
                f"record {record.seq} ({record.kind}) does not replay: {type(exc).__name__}: {exc}"
            ) from exc
    return SessionRecord(records=records, state=state, samples=samples, journal_path=journal_path)
