"""The live session: the pipeline, the processes and the loops, put together.

Every intent goes through :meth:`Session.submit` (or :meth:`Session.act` for keys): the
engine decides, each event is written to the journal (fsync) *before* anything acts on it,
the state folds it in, and only then do the effects start (a step's process, a rollback).
The screen is one listener among others.

Rollback is the one path that never waits: its intent is recorded with one fsync (or, with
the journal failed, kept in memory and said on screen), then the process starts at once;
the snapshot of metrics and output is taken afterwards, in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from cockpit.announce import Webhook
from cockpit.clock import Clock, SystemClock
from cockpit.engine import SYSTEM, Event, Refusal, State, apply
from cockpit.engine import intents as i
from cockpit.journal import Journal, JournalError, JournalFailed
from cockpit.profile import Profile, ResolvedProfile
from cockpit.runner import OutputSource, OutputTail, ProcessStarter, start_process
from cockpit.sample import Sample
from cockpit.session.crew import Crew
from cockpit.session.locking import relock
from cockpit.session.loops import Loops
from cockpit.session.opening import (
    Opened,
    environment,
    open_existing,
    open_new,
    resumed_event,
)
from cockpit.session.processes import Processes
from cockpit.session.record import JournalFailure, Listener, Recorder

log = logging.getLogger(__name__)

EvidenceWriter = Callable[[Path, Path | None], list[Path]]
"""Writes the evidence of a journal into a directory (default: beside it); returns the files.
The session is given one (``cockpit.evidence.write_evidence``) by whoever opens it: the
evidence is read from the journal, a layer above the session."""


class Session:
    """One deploy or rollback session, live.

    Attributes:
        resolved: The profile with its references resolved, and the secret values.
        journal: The session's journal (the one source of truth).
        session_dir: Where output files and evidence go.
        crew: The people in the roles.
        clock: The injected clock.
        recorder: Decides, records and applies intents (``cockpit.session.record``).
        processes: Starts, follows and reconciles processes (``cockpit.session.processes``).
        loops: The background loops and their guard (``cockpit.session.loops``).
        evidence: The evidence files written when the session ended.
        evidence_error: Why the evidence could not be written, if it could not.
    """

    def __init__(
        self,
        opened: Opened,
        *,
        clock: Clock,
        starter: ProcessStarter = start_process,
        evidence_writer: EvidenceWriter | None = None,
    ) -> None:
        self.resolved = opened.resolved
        self.journal: Journal = opened.journal
        self.session_dir = opened.session_dir
        self.crew = opened.crew
        self.clock = clock
        announce = opened.resolved.profile.announce
        webhook = (
            Webhook(announce.webhook, secrets=opened.resolved.secrets) if announce.webhook else None
        )
        self.recorder = Recorder(opened.journal, opened.state, clock, webhook)
        self.recorder.last_process = opened.last_process
        self.processes = Processes(
            resolved=opened.resolved,
            state=opened.state,
            session_dir=opened.session_dir,
            clock=clock,
            starter=starter,
            submit=self.quietly,
            spawn=lambda effect, keep: self._spawn(effect, keep=keep),
        )
        self.loops = Loops(self)
        self.evidence_writer = evidence_writer
        self.lock = opened.lock
        self.evidence: list[Path] = []
        self.evidence_error: str | None = None
        self._evidence_due = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._kept: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------ opening

    @classmethod
    def create(
        cls,
        profile_path: Path | str,
        *,
        operator: str | None = None,
        monitor: str | None = None,
        sessions_dir: Path | None = None,
        environ: dict[str, str] | None = None,
        clock: Clock | None = None,
        starter: ProcessStarter = start_process,
        evidence_writer: EvidenceWriter | None = None,
        take_over: bool = False,
        kind: str = "deploy",
        baseline_at: float | None = None,
    ) -> Session:
        """Load the profile, take the deploy lock, open a new journal and record the start.

        ``kind="incident"`` declares an incident now: T0 is this moment and R works at once
        (``baseline_at``: the time the baseline is taken from, when the crew gives one).

        Raises:
            ProfileError: the profile is invalid or a referenced variable is not set.
            Refusal: the crew breaks the two-person rule.
            LockHeld: another session holds the lock (``take_over`` takes a dead one's).
            LockError: the lock's store cannot be used.
            OSError: the sessions directory cannot be created.
        """
        clock = clock or SystemClock()
        opened = open_new(
            Path(profile_path),
            operator=operator,
            monitor=monitor,
            sessions_dir=sessions_dir,
            environ=environment(environ),
            clock=clock,
            take_over=take_over,
            kind=kind,
            baseline_at=baseline_at,
        )
        session = cls(opened, clock=clock, starter=starter, evidence_writer=evidence_writer)
        assert opened.first is not None
        session.recorder.commit(*opened.first)
        if session.lock is not None:
            actor = opened.first[0].actor
            session.recorder.decide(
                i.LockChanged(actor, clock.wall(), "taken", session.lock.details())
            )
        return session

    @classmethod
    def resume(
        cls,
        journal_path: Path | str,
        *,
        environ: dict[str, str] | None = None,
        clock: Clock | None = None,
        starter: ProcessStarter = start_process,
        evidence_writer: EvidenceWriter | None = None,
    ) -> Session:
        """Reopen a session after the cockpit died: replay its journal and carry on.

        What the journal recorded is reconciled with what exists by
        :meth:`reattach_processes` (a rollback recorded but never started starts then).

        Raises:
            JournalError: the journal is damaged, locked by a live cockpit, or unreadable.
            ProfileError: a variable the profile needs is not set.
        """
        clock = clock or SystemClock()
        opened = open_existing(Path(journal_path), environ=environment(environ))
        session = cls(opened, clock=clock, starter=starter, evidence_writer=evidence_writer)
        resumed = resumed_event(session.crew, clock.wall())
        state = session.state
        session.journal.append(
            resumed.kind,
            resumed.body,
            actor=resumed.actor,
            wall=resumed.wall,
            t_plus=state.t_plus(resumed.wall),
        )
        apply(state, resumed)
        if not state.phase.finished:
            session.lock = relock(
                session.recorder, state, session.profile, Path(journal_path), clock.wall()
            )
        if state.t0 is not None and not state.phase.finished and state.rollback is None:
            session.processes.keep_standby()
        return session

    # ------------------------------------------------------------ views

    @property
    def state(self) -> State:
        """The session's state: a fold of its events."""
        return self.recorder.state

    def output_source(self, path: Path) -> OutputSource | None:
        """Where this terminal reads the output file ``path`` from; None when it may not read
        it (the file is the session owner's)."""
        if not os.access(path.parent, os.X_OK):
            return None
        return OutputTail(path, secrets=self.resolved.secrets)

    @property
    def last_process_started(self) -> Event | None:
        """The last ``process.started``, read from the journal or recorded since (the screen
        follows that process's output; no record is kept to find it)."""
        return self.recorder.last_process

    @property
    def listeners(self) -> list[Listener]:
        """Called with the events of every change (the screen is one)."""
        return self.recorder.listeners

    @property
    def announcements(self) -> Any:
        """The latest announcements, oldest first."""
        return self.recorder.announcements

    @property
    def webhook(self) -> Webhook | None:
        """Where announcements are posted, if anywhere."""
        return self.recorder.webhook

    @property
    def journal_failed(self) -> str | None:
        """Why the journal can no longer record, or None while it can."""
        return self.recorder.failed

    @property
    def journal_failure(self) -> JournalFailure | None:
        """Why the journal failed and what is not on record (for the screen); None while it
        records."""
        return self.recorder.failure()

    @property
    def profile(self) -> Profile:
        """The resolved profile (references substituted)."""
        return self.resolved.profile

    @property
    def read_only(self) -> bool:
        """Whether this terminal only watches (see ``cockpit.watch``)."""
        return False

    @property
    def seat(self) -> str | None:
        """The one role this terminal acts in (a joined Monitor's: ``monitor``), or None
        where its keys are every role's (the session's own screen)."""
        return None

    @property
    def journal_path(self) -> Path:
        """The journal file."""
        return self.journal.path

    def unrecorded_lines(self) -> list[str]:
        """What happened after the journal failed, a line each: not in the record."""
        return self.recorder.unrecorded_lines()

    # ------------------------------------------------------------ intents

    def submit(self, intent: i.Intent) -> list[Event]:
        """Decide, record, apply, then start the effects as tasks.

        Raises:
            Refusal: the engine refused, or the journal cannot record an action.
        """
        events = self.recorder.decide(intent)
        for effect in self._effects(events):
            self._spawn(effect)
        return events

    async def act(self, intent: i.Intent) -> list[Event]:
        """Like :meth:`submit`, but run the effects' first part now (used for keys).

        ROLLING BACK NOW goes through here: when this returns, the rollback process exists.
        An effect that fails is recorded and shown (the clock's reconcile tries again);
        it never turns into a refusal of what was decided.
        """
        events = self.recorder.decide(intent)
        for effect in self._effects(events):
            try:
                await effect
            except Exception as exc:
                self.loops.guard.failed("processes", exc)
        return events

    def quietly(self, intent: i.Intent) -> None:
        """Submit an intent from the system (a sample, a tick, a process event); a refusal
        is already recorded by the pipeline and needs no one to hear it."""
        with contextlib.suppress(Refusal):
            self.submit(intent)

    def _effects(self, events: list[Event]) -> list[Coroutine[Any, Any, None]]:
        effects = self.processes.effects(events)
        if self.lock is not None:
            self.lock.effects(events, self.state, self.recorder.decide)
        if events and self.state.phase.finished and not self._evidence_due:
            self._evidence_due = True
            effects.append(self.write_evidence())
        return effects

    def _spawn(self, coro: Coroutine[Any, Any, None], *, keep: bool = False) -> None:
        """Run an effect as a task; ``keep`` ones (process waits) outlive :meth:`close`."""
        task = asyncio.get_running_loop().create_task(coro)
        (self._kept if keep else self._tasks).add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._kept.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            assert exc is not None
            self.loops.guard.failed("processes", exc)

    def flush(self) -> None:
        """Write batched samples now (before any decision, so the journal keeps the order)."""
        self.recorder.flush()

    def on_sample(self, sample: Sample) -> None:
        """Feed a metric sample (as the probe scheduler does)."""
        self.quietly(i.RecordSample(SYSTEM, self.clock.wall(), sample))

    def tick(self) -> None:
        """Let the engine look at the time (the trigger-time rule, health, verification)."""
        self.quietly(i.Tick(SYSTEM, self.clock.wall()))

    def reconcile(self) -> None:
        """Close any gap between recorded intents and processes (see ``processes.py``)."""
        for effect in self.processes.reconcile():
            self._spawn(effect, keep=True)

    async def reattach_processes(self) -> int:
        """Reconcile every recorded intent with what exists, now; how many needed work.

        A rollback recorded but never started is started before this returns; a process
        that kept running is followed; one that ended meanwhile is recorded with its result.
        """
        work = self.processes.reconcile()
        for effect in work:
            try:
                await effect
            except Exception as exc:
                self.loops.guard.failed("processes", exc)
        return len(work)

    # ------------------------------------------------------------ loops (run as workers)

    async def run_probes(self) -> None:
        """Sample every metric at its interval until cancelled."""
        await self.loops.probes()

    async def run_checks(self, *, only_due: bool = False) -> None:
        """Run the automated readiness checks once (see :meth:`Loops.run_checks`); a check
        that raised is recorded as a failed pass of the checks, and shown."""
        with self.loops.guard.one_pass("checks"):
            await self.loops.run_checks(only_due=only_due)

    async def run_checklist(self) -> None:
        """Re-run the readiness checks while the checklist is open."""
        await self.loops.checklist()

    async def run_history(self) -> None:
        """Read and record the metrics' history (once, after the first frame; never blocks)."""
        await self.loops.history()

    async def run_clock(self) -> None:
        """Tick the engine's timers and flush batched samples until cancelled (and watch
        the deploy lock beside it)."""
        if self.lock is not None:
            lock = self.lock
            self._spawn(
                self.loops.guard.keep_running(
                    "lock", lambda: lock.watch(self.recorder.decide, self.clock.wall)
                )
            )
        self.recorder.post_waiting()  # what was announced before the loop ran (T0, ...)
        self.warm_rollback()
        await self.loops.clock()

    def warm_rollback(self) -> None:
        """In an incident, keep a supervisor standing by for R from now on.

        Called by the screen as soon as the first frame is out, before the loops start: not
        before that frame (starting Python beside the first paint delayed it,
        benchmarks/incident.py), and not after the loops' start-up either (an R pressed on
        the first frame waited for the supervisor's Python to start). An R before this
        spawns its supervisor directly.
        """
        state = self.state
        if state.is_incident and state.rollback is None and not state.phase.finished:
            self.processes.keep_standby()

    def check_loops(self) -> None:
        """Record a clock that went silent (called by the screen's own timer)."""
        self.loops.check_clock()

    async def start(self) -> None:
        """Start probes, checks and the clock as background tasks (headless use)."""
        for loop in (self.run_probes(), self.run_checklist(), self.run_clock()):
            self._spawn(loop)

    # ------------------------------------------------------------ the end

    async def write_evidence(self) -> None:
        """Write the evidence files and DEPLOYMENT-REPORT.md from the journal (off the loop)."""
        self._evidence_due = True
        if self.evidence_writer is None:
            return
        with contextlib.suppress(JournalFailed):
            self.flush()
        out = Path(self.profile.evidence_dir) if self.profile.evidence_dir else None
        try:
            self.evidence = await asyncio.to_thread(self.evidence_writer, self.journal_path, out)
            self.evidence_error = None
        except (JournalError, OSError, ValueError) as exc:
            self.evidence_error = f"evidence not written: {exc}"
        except Exception as exc:  # the record must never be lost to a bug in the report
            log.exception("evidence failed")
            self.evidence_error = f"evidence not written: {type(exc).__name__}: {exc}"
        for listener in list(self.listeners):
            listener([])

    async def stop(self) -> None:
        """Stop the loops and the standby, let announcements drain, flush the journal.

        Started processes keep running by design: a rollback must survive the screen.
        """
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.processes.close()
        if self.lock is not None:
            # Recorded, not shown: the screen is closing and keeps what it showed.
            listeners, self.listeners[:] = list(self.listeners), []
            try:
                self.lock.quit(self.state, self.recorder.decide, self.clock.wall())
            finally:
                self.listeners[:] = listeners
            await self.lock.drain(timeout=5.0)
            self.lock.close()
        if self.webhook is not None:
            await self.webhook.drain(timeout=2.0)
        with contextlib.suppress(JournalFailed):
            self.flush()

    async def close(self) -> None:
        """Stop everything (see :meth:`stop`) and close the journal."""
        await self.stop()
        self.journal.close()


__all__ = ["Crew", "EvidenceWriter", "ResolvedProfile", "Session"]
