"""Watch a session from a second terminal: the same screen, fed by the journal, read-only.

The journal is the one source of truth, so a watcher needs nothing from the cockpit that runs
the session: it replays the journal, then follows the records appended to it and folds them
into its own copy of the state, exactly as a resume would. It never writes: every key that
would act is refused and says where to act instead. Who may watch is decided by the
journal's file mode (0600: its owner); watching as another user needs the attach socket,
which is not built yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from cockpit.clock import Clock, SystemClock
from cockpit.engine import Event, Refusal, apply, decide, events_from_records
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.journal import (
    Journal,
    JournalDamaged,
    JournalError,
    JournalUnreadable,
    Record,
)
from cockpit.journal.follow import JournalFollower
from cockpit.journal.reader import scan_journal
from cockpit.profile import ProfileError, ResolvedProfile, resolve_profile
from cockpit.session import Crew, Session
from cockpit.session.opening import Opened, Replay

FOLLOW_INTERVAL = 0.25
"""Seconds between looks at the journal for new records."""


class WatchedSession(Session):
    """A session seen through its journal: the state follows the file; nothing acts."""

    read_only_reason: str = ""
    _follower: JournalFollower | None = None
    """Follows the journal file (None for a session joined through its attach socket)."""

    @classmethod
    def watch(cls, journal_path: Path | str, *, clock: Clock | None = None) -> WatchedSession:
        """Replay a journal to watch it.

        Raises:
            JournalError: the journal is missing, damaged or not a session journal.
        """
        path = Path(journal_path)
        if not path.is_file():
            raise JournalUnreadable(path, "no such journal file; `cockpit sessions` lists them")
        replayed = Replay()
        scan = scan_journal(path, replayed.add)
        scan.raise_damage(path, allow_torn_tail=True)
        session = cls.from_replay(path, replayed, scan.count, scan.last_hash, clock=clock)
        session._follower = JournalFollower(path, scan)
        return session

    @classmethod
    def from_replay(
        cls,
        path: Path,
        replayed: Replay,
        last_seq: int,
        last_hash: str,
        *,
        clock: Clock | None = None,
    ) -> WatchedSession:
        """A session seen through records already read, verified and folded (from the
        journal, or from a session's attach socket), up to record ``last_seq``.

        Raises:
            JournalUnreadable: the records hold no session.
        """
        state = replayed.state
        if state.profile is None:
            raise JournalUnreadable(path, "not a session journal (no session.started record)")
        crew = Crew(
            operator=state.crew["operator"],
            monitor=state.crew["monitor"],
            approvers=state.approvers,
        )
        opened = Opened(
            # The journal keeps the profile as written: ${env:...} secrets stay unresolved here.
            resolved=ResolvedProfile(state.profile, ()),
            journal=Journal.view(path, last_seq, last_hash),
            session_dir=path.with_suffix(""),
            crew=crew,
            state=state,
            last_process=replayed.last_process,
        )
        session = cls(opened, clock=clock or SystemClock())
        session.read_only_reason = (
            "this terminal only watches; act in the cockpit that runs the session "
            f"({crew.operator} and {crew.monitor})"
        )
        return session

    @property
    def read_only(self) -> bool:
        """Always: a watcher never writes."""
        return True

    # ------------------------------------------------------------ nothing acts

    def submit(self, intent: i.Intent) -> list[Event]:
        """Only this terminal's own loops report (their health, and the history it read when
        it opened: shown here, never recorded); everything else is refused."""
        if isinstance(intent, i.RecordLoopHealth | i.RecordHistory):
            events = decide(self.state, intent)
            for event in events:
                apply(self.state, event)
            for listener in list(self.listeners):
                listener(events)
            return events
        raise Refusal(self.read_only_reason)

    async def act(self, intent: i.Intent) -> list[Event]:
        raise Refusal(self.read_only_reason)

    async def run_probes(self) -> None:
        """The running cockpit measures; its samples arrive through the journal."""

    async def run_checklist(self) -> None:
        """The running cockpit runs the checks; their results arrive through the journal."""

    async def run_history(self) -> None:
        """Read the history as of now, as any cockpit does when it opens, with this terminal's
        environment (the journal keeps the profile unresolved); without the variables the
        profile needs, the history the running cockpit recorded is what shows."""
        try:
            resolved = resolve_profile(self.profile, os.environ)
        except ProfileError:
            return
        await self.loops.history(resolved)

    async def run_checks(self, *, only_due: bool = False) -> None:
        raise Refusal(self.read_only_reason)

    async def reattach_processes(self) -> int:
        """The screen follows process output from the process.started records; nothing to wait
        for here."""
        return 0

    async def write_evidence(self) -> None:
        """The running cockpit writes the evidence; a watcher only shows where it is."""
        report = self.session_dir / "DEPLOYMENT-REPORT.md"
        self.evidence = [report] if report.exists() else []

    def flush(self) -> None:
        """Nothing is batched: a watcher records nothing."""

    def warm_rollback(self) -> None:
        """A watcher (and a joined or replaying terminal) starts no process: nothing to keep
        warm for R here."""

    # ------------------------------------------------------------ following

    async def run_clock(self) -> None:
        """Follow the journal until cancelled: fold each new record in and tell the screen."""
        await self.loops.guard.keep_running("follow", self._follow_until_damaged)

    async def _follow_until_damaged(self) -> None:
        size = _size(self.journal_path)
        while True:
            await asyncio.sleep(FOLLOW_INTERVAL)
            with self.loops.guard.one_pass("follow"):
                if self.state.phase.finished and not self.evidence:
                    await self.write_evidence()  # the cockpit writes it just after the end
                    if self.evidence:
                        for listener in list(self.listeners):
                            listener([])
                now_size = _size(self.journal_path)
                if now_size == size:
                    continue
                size = now_size
                try:
                    self.follow()
                except JournalError as exc:
                    self.recorder.failed = f"cannot follow the journal: {exc}"
                    for listener in list(self.listeners):
                        listener([])
                    await asyncio.Event().wait()  # damaged: nothing more to follow, ever

    def check_loops(self) -> None:
        """A watcher has no clock loop of its own to check."""

    def reconcile(self) -> None:
        """The running cockpit reconciles its processes; a watcher only looks."""

    def follow(self) -> list[Record]:
        """Read the records appended since the last look and apply them; return them.

        Each new record is verified against the chain; the last one shown must still be in
        place. Older records were verified when first read (``cockpit verify`` checks all).

        Raises:
            JournalDamaged: the last record shown changed, or a new one does not chain.
            JournalUnreadable: the journal went away.
        """
        if self._follower is None:
            return []  # joined through the attach socket: the records come from there
        new = self._follower.read_new()
        if not new:
            return []
        self.fold(new)
        return new

    def fold(self, records: list[Record]) -> None:
        """Fold new records into the state with the engine, and tell the screen."""
        events = events_from_records(records)
        for event in events:
            apply(self.state, event)
            if event.kind == Kind.PROCESS_STARTED:
                self.recorder.last_process = event
        for listener in list(self.listeners):
            listener(events)


def _size(path: Path) -> int:
    with contextlib.suppress(OSError):
        return os.stat(path).st_size
    return -1


__all__ = ["FOLLOW_INTERVAL", "JournalDamaged", "WatchedSession"]
