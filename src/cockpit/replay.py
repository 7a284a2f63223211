"""Replay a session's journal: the state at any record, on the journal's own clock.

The journal is the one source of truth and the state is a pure fold of its events, so the
state at record *n* is the fold of the first *n* records; a replay never needs anything else.
:class:`Replayer` keeps that fold and a replayed wall time: it steps record by record, jumps
to a record or a T+ time, and plays the records in their own time at a speed. Nothing here
reads a clock: :meth:`Replayer.advance` is told how much real time passed, so a test drives
a replay exactly. :class:`ReplaySession` is the read-only session the screen shows, whose
clock is the replayed wall time.

A damaged journal is replayed up to the last record that verifies; what follows the damage
is never read as fact (:func:`read_indexed`). A day-long journal is not held in memory (1.1
GB of records, measured): the replay keeps where its records lie and reads them again, each
block verified again against the hashes it read the first time (``cockpit.journal.index``).
"""

from __future__ import annotations

import bisect
import copy
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cockpit.clock import SystemClock
from cockpit.engine import Fold, State, apply, events_from_records
from cockpit.engine.kinds import Kind
from cockpit.journal import JournalUnreadable, Record, VerifyReport, read_verified_prefix
from cockpit.journal.index import JournalIndex
from cockpit.replay_history import (
    ReplayHistory,
    Status,
    failed,
    pending,
    read_history,
    replay_range,
)
from cockpit.session.opening import Replay
from cockpit.watch import WatchedSession

SPEEDS = (1, 2, 4, 8, 16, 32, 64)
"""Replay speeds: real time times this (``+`` doubles, ``-`` halves)."""

DECISIONS: dict[str, str] = {
    Kind.INCIDENT_DECLARED: "I",
    Kind.GO: "G",
    Kind.NOGO: "N",
    Kind.STEP_STARTING: "S",
    Kind.STEP_FINISHED: "F",
    Kind.ROLLBACK_ADVISED: "A",
    Kind.ROLLBACK_STARTED: "R",
    Kind.ROLLBACK_VERIFIED: "V",
    Kind.SESSION_COMPLETE: "V",
    Kind.INCIDENT_MITIGATED: "V",
    Kind.ROLLBACK_NOT_VERIFIED: "X",
    Kind.SESSION_ABORTED: "X",
}
"""The records ``n`` stops at, and the letter that marks each on the timeline: GO / NO-GO
(or an incident's declaration), a step started and finished, the rollback advised and started
(R), and the verdicts (V verified or complete, X not verified or aborted)."""

CHECKPOINT_EVERY = 256
"""Records between kept copies of the state: stepping back refolds from the nearest one."""


class TimeError(ValueError):
    """A T+ time that cannot be read; the message says how to write one."""


_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$")
_UNITS = re.compile(r"(\d+(?:\.\d+)?)\s*(h|m|s)")


def parse_t_plus(text: str) -> float:
    """Seconds after T0 from what someone types: ``12:30``, ``1:02:03``, ``750s``, ``12m30s``,
    ``750`` (seconds); a leading ``T`` or ``+`` is allowed.

    Raises:
        TimeError: the text is none of these.
    """
    raw = text.strip().lower().removeprefix("t").removeprefix("+").strip()
    if not raw:
        raise TimeError("type a time after T0, e.g. 12:30 or 750s")
    if raw.startswith("-"):
        raise TimeError(f"{text.strip()!r} is before T0; type a time from T+00:00 on")
    seconds: float | None = None
    clock = _CLOCK.match(raw)
    if clock is not None:
        hours, minutes, secs = clock.groups()
        if float(secs) >= 60 or (hours is not None and int(minutes) >= 60):
            raise TimeError(f"{text.strip()!r}: minutes and seconds go up to 59")
        seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
    elif re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    else:
        parts = list(_UNITS.finditer(raw))
        if parts and "".join(p.group(0) for p in parts) == raw.replace(" ", ""):
            scale = {"h": 3600.0, "m": 60.0, "s": 1.0}
            seconds = sum(float(p.group(1)) * scale[p.group(2)] for p in parts)
    if seconds is None or not math.isfinite(seconds):
        raise TimeError(f"cannot read {text.strip()!r}: type mm:ss (12:30), h:mm:ss or 750s")
    return seconds


@dataclass(frozen=True)
class Damage:
    """Where a journal stops being trustworthy, and why (from the reader's verification)."""

    seq: int
    """The first record that cannot be trusted; it is on line ``seq`` of the file."""
    reason: str
    torn_tail: bool
    """Only the last line is torn: a crash mid-write, which a resume would repair."""

    def describe(self, replayed: int) -> str:
        """One line for the screen: where, why, and where the replay stops."""
        what = "torn" if self.torn_tail else "damaged"
        return (
            f"journal {what} at record {self.seq} (line {self.seq}): {self.reason}; "
            f"the replay stops at record {replayed}"
        )


def read_replayable(path: Path) -> tuple[list[Record], Damage | None]:
    """The records of a journal that verify, and the damage after them if any.

    Raises:
        JournalUnreadable: missing, not a regular file, not a journal, or nothing verifies.
    """
    records, report = read_verified_prefix(path)
    damage = _damage(report)
    if not records:
        why = damage.describe(0) if damage else "the journal is empty"
        raise JournalUnreadable(path, f"nothing to replay: {why}")
    return records, damage


def read_indexed(path: Path) -> tuple[JournalIndex, Damage | None]:
    """An index of the records of a journal that verify (see :class:`JournalIndex`: it holds
    their places in the file, and the :data:`LANDMARKS`), and the damage after them if any.

    Raises:
        JournalUnreadable: missing, not a regular file, not a journal, or nothing verifies.
    """
    index, report = JournalIndex.build(path, keep=lambda record: record.kind in LANDMARKS)
    damage = _damage(report)
    if not index.count:
        why = damage.describe(0) if damage else "the journal is empty"
        raise JournalUnreadable(path, f"nothing to replay: {why}")
    return index, damage


def _damage(report: VerifyReport) -> Damage | None:
    if report.first_bad_seq is None:
        return None
    return Damage(report.first_bad_seq, report.reason or "damaged", report.torn_tail)


LANDMARKS = frozenset(
    {*DECISIONS, Kind.EXECUTION_STARTED, Kind.PROCESS_STARTED, Kind.ROLLBACK_COMMAND_FINISHED}
)
"""The records a replay keeps in memory (with their positions): the decisions, T0, and the
processes started and finished (their headers are shown, and their output once they
finished). A handful per step, never the samples: the rest is read again from the journal."""

MAX_CHECKPOINTS = 32
"""Kept copies of the state, at most: spread over the whole journal (at least
:data:`CHECKPOINT_EVERY` records apart), so that memory does not grow with its length."""
FINE_CHECKPOINTS = 16
"""Copies kept, at most, between two of those while stepping back through them, when they are
more than :data:`CHECKPOINT_EVERY` records apart (a day-long journal: 2,700): a step back
then refolds a sixteenth of that distance, not all of it. A copy costs about as much as
folding 100 records (10 ms, measured on 16 metrics), so closer checkpoints get no ladder."""


class Records(Protocol):
    """A journal's verified records as a replay reads them: a list in memory (tests) or a
    :class:`JournalIndex` that reads them again from the file."""

    @property
    def count(self) -> int:
        """Records (positions ``1 .. count``)."""

    @property
    def first(self) -> Record:
        """The first record."""

    @property
    def last(self) -> Record:
        """The last record."""

    @property
    def kept(self) -> list[tuple[int, Record]]:
        """``(position, record)`` of the :data:`LANDMARKS`, in order."""

    def read(self, start: int, stop: int) -> Iterator[Record]:
        """The records at positions ``start + 1 .. stop``."""

    def count_at_or_before(self, wall: float) -> int:
        """How many records have a wall time at or before ``wall``."""


class RecordList:
    """Records held in a list (a short journal, or a test's)."""

    def __init__(self, records: Sequence[Record]) -> None:
        self._records = records
        self._walls = [r.wall for r in records]
        self.kept = [(n, r) for n, r in enumerate(records, start=1) if r.kind in LANDMARKS]

    @property
    def count(self) -> int:
        """Records in the list."""
        return len(self._records)

    @property
    def first(self) -> Record:
        """The first record."""
        return self._records[0]

    @property
    def last(self) -> Record:
        """The last record."""
        return self._records[-1]

    def read(self, start: int, stop: int) -> Iterator[Record]:
        """The records at positions ``start + 1 .. stop``."""
        return iter(self._records[max(0, start) : stop])

    def count_at_or_before(self, wall: float) -> int:
        """How many records have a wall time at or before ``wall`` (they are in time order)."""
        return bisect.bisect_right(self._walls, wall)


class Replayer:
    """The fold of a journal's first records, and the replayed wall time.

    The records are read again from the journal as the replay moves (:class:`JournalIndex`),
    and the state is folded from the nearest kept copy: what it holds does not grow with the
    journal (at most :data:`MAX_CHECKPOINTS` + :data:`FINE_CHECKPOINTS` states).

    Attributes:
        source: The records that verify, in order.
        position: How many records are folded into :attr:`state` (1 .. :attr:`last`).
        wall: The replayed wall time: from the last folded record's time up to (not including)
            the next one's.
        state: The fold of the first ``position`` records.
        speed: Real seconds times this is replayed time while playing.
        playing: Whether :meth:`advance` moves the replay.
    """

    def __init__(self, records: Sequence[Record] | Records) -> None:
        source: Records = RecordList(records) if isinstance(records, Sequence) else records
        if source.count == 0:
            raise ValueError("a replay needs at least one record")
        self.source = source
        self.state = State()
        self.position = 0
        self._record = source.first
        self._every = max(CHECKPOINT_EVERY, math.ceil(source.count / MAX_CHECKPOINTS))
        self._checkpoints: dict[int, State] = {0: State()}
        self._fine: dict[int, State] = {}
        self._fold_to(1)
        self.wall = source.first.wall
        self.speed = SPEEDS[0]
        self.playing = False

    # ------------------------------------------------------------ where

    @property
    def last(self) -> int:
        """The last record's position."""
        return self.source.count

    @property
    def at_end(self) -> bool:
        """Whether every record is folded in and the replayed time reached the last one."""
        return self.position == self.last

    @property
    def record(self) -> Record:
        """The last record folded in."""
        return self._record

    @property
    def first_wall(self) -> float:
        """The first record's wall time."""
        return self.source.first.wall

    @property
    def last_wall(self) -> float:
        """The last record's wall time."""
        return self.source.last.wall

    @property
    def t0(self) -> float | None:
        """T0 of the whole session (GO, or the incident's declaration), if it had one."""
        for _, record in self.source.kept:
            if record.kind in (Kind.EXECUTION_STARTED, Kind.INCIDENT_DECLARED):
                return record.wall
        return None

    @property
    def landmarks(self) -> list[tuple[int, Record]]:
        """``(position, record)`` of the :data:`LANDMARKS`, in order."""
        return self.source.kept

    @property
    def held(self) -> int:
        """States this replay holds (the checkpoints and its own): bounded, whatever the
        journal's length."""
        return len(self._checkpoints) + len(self._fine) + 1

    def decisions(self) -> list[int]:
        """The positions of the decision records (see :data:`DECISIONS`)."""
        return [n for n, r in self.source.kept if r.kind in DECISIONS]

    # ------------------------------------------------------------ moving

    def step(self, by: int = 1) -> None:
        """To the record ``by`` records on (back when negative); the time is that record's."""
        self.go_to_record(self.position + by)

    def go_to_record(self, n: int) -> None:
        """To record ``n`` (clamped to the journal), at its time."""
        n = max(1, min(self.last, n))
        self._fold_to(n)
        self.wall = self._record.wall

    def next_decision(self) -> bool:
        """To the next decision record after this one; False when there is none."""
        later = [n for n in self.decisions() if n > self.position]
        if not later:
            return False
        self.go_to_record(later[0])
        return True

    def go_to_t_plus(self, seconds: float) -> float:
        """To the moment T0 + ``seconds`` (clamped to the journal): every record up to it is
        folded in. Before T0 (no GO yet) the session's first record is the origin.

        Returns:
            The T+ reached, in seconds (after clamping).
        """
        t0 = self.t0
        origin = t0 if t0 is not None else self.first_wall
        self.go_to_wall(origin + seconds)
        return self.wall - origin

    def go_to_wall(self, wall: float) -> None:
        """To the wall time ``wall`` (clamped to the journal's first and last record)."""
        wall = max(self.first_wall, min(self.last_wall, wall))
        n = max(1, self.source.count_at_or_before(wall))
        self._fold_to(n)
        self.wall = wall

    # ------------------------------------------------------------ playing

    def faster(self) -> None:
        """Double the speed (up to the fastest)."""
        self.speed = SPEEDS[min(len(SPEEDS) - 1, SPEEDS.index(self.speed) + 1)]

    def slower(self) -> None:
        """Halve the speed (down to 1x)."""
        self.speed = SPEEDS[max(0, SPEEDS.index(self.speed) - 1)]

    def toggle(self) -> None:
        """Play or pause; playing from the end starts again from the first record."""
        if not self.playing and self.at_end:
            self.go_to_record(1)
        self.playing = not self.playing

    def advance(self, real_seconds: float) -> int:
        """While playing, move the replayed time on by ``real_seconds`` times the speed and
        fold in the records it reaches; pause at the last record.

        Returns:
            How many records were folded in.
        """
        if not self.playing or real_seconds <= 0:
            return 0
        before = self.position
        target = self.wall + real_seconds * self.speed
        if target >= self.last_wall:
            self.go_to_wall(self.last_wall)
            self.go_to_record(self.last)
            self.playing = False
        else:
            self.go_to_wall(target)
        return self.position - before

    # ------------------------------------------------------------ the fold

    def _fold_to(self, n: int) -> None:
        """Make :attr:`state` the fold of the first ``n`` records, in place (the session and
        its screen hold this one ``State``).

        Raises:
            JournalError: the journal cannot be read again as it verified; the state is then
                the fold of the records read before (``position`` says how many).
        """
        fine: set[int] = set()
        if n < self.position:
            base = max(k for k in (*self._checkpoints, *self._fine) if k <= n)
            _become(self.state, _copy(self._checkpoints.get(base) or self._fine[base]))
            self.position = base
            # The checkpoints keep states, not records: the one at ``base`` is read again.
            self._record = next(self.source.read(base - 1, base), self.source.first)
            if base not in self._fine and n - base > CHECKPOINT_EVERY:
                # Stepping back again comes this way: keep copies on the way down to it.
                self._fine.clear()
                gap = math.ceil((n - base) / FINE_CHECKPOINTS)
                fine = set(range(base + gap, n, gap))
        if n == self.position:
            return
        folding = Fold(self.state)
        try:
            for done, record in enumerate(self.source.read(self.position, n), self.position + 1):
                folding.add(record)
                self.position, self._record = done, record
                if done % self._every == 0 and done not in self._checkpoints:
                    self._checkpoints[done] = _copy(folding.state)
                elif done in fine:
                    self._fine[done] = _copy(folding.state)
        finally:
            folding.state  # noqa: B018  (builds the samples the state keeps)


def fold(records: list[Record]) -> State:
    """The state after ``records``: what the live session had when it wrote the last one."""
    state = State()
    for event in events_from_records(records):
        apply(state, event)
    return state


def _copy(state: State) -> State:
    # The profile is a frozen model: shared, not copied (most of the cost of a deep copy).
    memo = {} if state.profile is None else {id(state.profile): state.profile}
    return copy.deepcopy(state, memo)


def _become(target: State, source: State) -> None:
    for name in vars(source):
        setattr(target, name, getattr(source, name))


class ReplayClock:
    """The clock a replayed session shows: the replayed wall time, standing still between
    moves (durations are replayed time too)."""

    def __init__(self, replayer: Replayer) -> None:
        self._replayer = replayer

    def wall(self) -> float:
        """The replayed wall time."""
        return self._replayer.wall

    def monotonic(self) -> float:
        """The replayed time again: it only goes back when the crew steps back."""
        return self._replayer.wall


class ReplaySession(WatchedSession):
    """A journal replayed on the cockpit's screen: read-only, its clock the replayed time.

    Attributes:
        replayer: The fold and the replayed time; the screen moves it.
        damage: Where the journal stops being trustworthy, if it does.
        history: The Prometheus history over the session's range (read by
            :meth:`run_history`), or why there is none.
    """

    replayer: Replayer
    damage: Damage | None = None
    history: ReplayHistory

    @classmethod
    def open(cls, journal_path: Path | str, *, prometheus: bool = True) -> ReplaySession:
        """Read a journal (up to any damage) and stand at its first record, paused.

        Args:
            journal_path: The session's journal.
            prometheus: Read the Prometheus metrics' history over the session's range
                (:meth:`run_history`); False: the journal alone.

        Raises:
            JournalUnreadable: missing, not a file, not a journal, or no session in it.
        """
        path = Path(journal_path)
        index, damage = read_indexed(path)
        first = index.first
        if first.kind != Kind.SESSION_STARTED:
            raise JournalUnreadable(path, "not a session journal (no session.started record)")
        replayer = Replayer(index)
        start = Replay()
        start.add(first)  # the session as it opened; the replayer moves it on
        last = index.last  # the last record that verifies; none after damage
        session = cls.from_replay(path, start, last.seq, last.hash, clock=ReplayClock(replayer))
        assert isinstance(session, ReplaySession)
        session.replayer = replayer
        _become(session.state, replayer.state)
        replayer.state = session.state  # one State: the session's, which the screen reads
        session.damage = damage
        session.read_only_reason = "this is a replay of the journal; nothing here acts"
        since, end = replay_range(session.profile, first.wall, last.wall)
        session.history = pending(session.profile, since, end, wanted=prometheus)
        return session

    @property
    def description(self) -> str:
        """Where the replay stands, in words (for the status line and the tests)."""
        r = self.replayer
        return f"record {r.position}/{r.last} {r.record.kind}"

    async def run_clock(self) -> None:
        """The replay screen moves the clock; the journal is not followed."""

    async def run_history(self) -> None:
        """Read the Prometheus metrics' history over the session's range, once (the screen
        runs this in a worker: the replay works from the journal meanwhile). The journal's
        profile is resolved from this terminal's environment; whatever fails is a state
        with one line to show, never an exception."""
        wanted = self.history
        if wanted.status is not Status.READING:
            return
        try:
            self.history = await read_history(
                self.profile, os.environ, wanted.start, wanted.end, clock=SystemClock()
            )
        except Exception as exc:  # a bug must show as a state, not end the worker unseen
            self.history = failed(wanted.start, wanted.end, f"reading failed: {type(exc).__name__}")

    async def write_evidence(self) -> None:
        """A replay writes nothing; it shows where the report is, if there is one."""
        report = self.session_dir / "DEPLOYMENT-REPORT.md"
        self.evidence = [report] if report.is_file() else []


__all__ = [
    "DECISIONS",
    "SPEEDS",
    "Damage",
    "ReplayClock",
    "ReplaySession",
    "Replayer",
    "TimeError",
    "fold",
    "parse_t_plus",
    "read_indexed",
    "read_replayable",
]
