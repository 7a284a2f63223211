"""Replay a session's journal: the state at any record, on the journal's own clock.

The journal is the one source of truth and the state is a pure fold of its events, so the
state at record *n* is the fold of the first *n* records; a replay never needs anything else.
:class:`Replayer` keeps that fold and a replayed wall time: it steps record by record, jumps
to a record or a T+ time, and plays the records in their own time at a speed. Nothing here
reads a clock: :meth:`Replayer.advance` is told how much real time passed, so a test drives
a replay exactly. :class:`ReplaySession` is the read-only session the screen shows, whose
clock is the replayed wall time.

A damaged journal is replayed up to the last record that verifies; what follows the damage
is never read as fact (:func:`read_replayable`).
"""

from __future__ import annotations

import copy
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cockpit.clock import SystemClock
from cockpit.engine import State, apply, events_from_records
from cockpit.engine.kinds import Kind
from cockpit.journal import JournalUnreadable, Record, VerifyReport, read_verified_prefix
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


def _damage(report: VerifyReport) -> Damage | None:
    if report.first_bad_seq is None:
        return None
    return Damage(report.first_bad_seq, report.reason or "damaged", report.torn_tail)


class Replayer:
    """The fold of a journal's first records, and the replayed wall time.

    Attributes:
        records: The records that verify, in order.
        position: How many records are folded into :attr:`state` (1 .. ``len(records)``).
        wall: The replayed wall time: from the last folded record's time up to (not including)
            the next one's.
        state: The fold of the first ``position`` records.
        speed: Real seconds times this is replayed time while playing.
        playing: Whether :meth:`advance` moves the replay.
    """

    def __init__(self, records: list[Record]) -> None:
        if not records:
            raise ValueError("a replay needs at least one record")
        self.records = records
        self._walls = [r.wall for r in records]
        self.state = State()
        self.position = 0
        self._checkpoints: dict[int, State] = {0: State()}
        self._fold_to(1)
        self.wall = records[0].wall
        self.speed = SPEEDS[0]
        self.playing = False

    # ------------------------------------------------------------ where

    @property
    def last(self) -> int:
        """The last record's position."""
        return len(self.records)

    @property
    def at_end(self) -> bool:
        """Whether every record is folded in and the replayed time reached the last one."""
        return self.position == self.last

    @property
    def record(self) -> Record:
        """The last record folded in."""
        return self.records[self.position - 1]

    @property
    def t0(self) -> float | None:
        """T0 of the whole session (GO, or the incident's declaration), if it had one."""
        for record in self.records:
            if record.kind in (Kind.EXECUTION_STARTED, Kind.INCIDENT_DECLARED):
                return record.wall
        return None

    def decisions(self) -> list[int]:
        """The positions of the decision records (see :data:`DECISIONS`)."""
        return [n for n, r in enumerate(self.records, start=1) if r.kind in DECISIONS]

    # ------------------------------------------------------------ moving

    def step(self, by: int = 1) -> None:
        """To the record ``by`` records on (back when negative); the time is that record's."""
        self.go_to_record(self.position + by)

    def go_to_record(self, n: int) -> None:
        """To record ``n`` (clamped to the journal), at its time."""
        n = max(1, min(self.last, n))
        self._fold_to(n)
        self.wall = self.records[n - 1].wall

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
        origin = self.t0 if self.t0 is not None else self._walls[0]
        self.go_to_wall(origin + seconds)
        return self.wall - origin

    def go_to_wall(self, wall: float) -> None:
        """To the wall time ``wall`` (clamped to the journal's first and last record)."""
        wall = max(self._walls[0], min(self._walls[-1], wall))
        n = max(1, _count_at_or_before(self._walls, wall))
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
        if target >= self._walls[-1]:
            self.go_to_wall(self._walls[-1])
            self.go_to_record(self.last)
            self.playing = False
        else:
            self.go_to_wall(target)
        return self.position - before

    # ------------------------------------------------------------ the fold

    def _fold_to(self, n: int) -> None:
        """Make :attr:`state` the fold of the first ``n`` records, in place (the session and
        its screen hold this one ``State``)."""
        if n < self.position:
            base = max(k for k in self._checkpoints if k <= n)
            _become(self.state, _copy(self._checkpoints[base]))
            self.position = base
        for index in range(self.position, n):
            for event in events_from_records([self.records[index]]):
                apply(self.state, event)
            done = index + 1
            if done % CHECKPOINT_EVERY == 0 and done not in self._checkpoints:
                self._checkpoints[done] = _copy(self.state)
        self.position = n


def fold(records: list[Record]) -> State:
    """The state after ``records``: what the live session had when it wrote the last one."""
    state = State()
    for event in events_from_records(records):
        apply(state, event)
    return state


def _count_at_or_before(walls: list[float], wall: float) -> int:
    import bisect

    return bisect.bisect_right(walls, wall)


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
        records, damage = read_replayable(path)
        if records[0].kind != Kind.SESSION_STARTED:
            raise JournalUnreadable(path, "not a session journal (no session.started record)")
        replayer = Replayer(records)
        start = Replay()
        start.add(records[0])  # the session as it opened; the replayer moves it on
        last = records[-1]  # the last record that verifies; none after damage
        session = cls.from_replay(path, start, last.seq, last.hash, clock=ReplayClock(replayer))
        assert isinstance(session, ReplaySession)
        session.replayer = replayer
        _become(session.state, replayer.state)
        replayer.state = session.state  # one State: the session's, which the screen reads
        session.damage = damage
        session.read_only_reason = "this is a replay of the journal; nothing here acts"
        first, end = replay_range(session.profile, records[0].wall, last.wall)
        session.history = pending(session.profile, first, end, wanted=prometheus)
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
    "read_replayable",
]
