"""A live session: the engine's decisions made durable and carried out.

Every intent goes through :meth:`Session.submit`: the engine decides, each event is written to
the journal (fsync) *before* anything acts on it, the state folds it in, and only then do the
effects start (a step's process, a rollback). The screen is one listener among others.

Rollback is the one path that is never delayed: its intent is recorded with one fsync, then
the process starts at once; the snapshot of metrics and output is taken afterwards, in
parallel. If the journal has failed, a rollback still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.announce import ANNOUNCED_KINDS, Webhook, announcement, state_before
from cockpit.clock import Clock, SystemClock
from cockpit.engine import Event, Phase, Refusal, State, StepStatus, apply, decide, replay
from cockpit.engine import intents as i
from cockpit.engine.events import HIGH_RATE_KINDS, SAMPLE, SYSTEM
from cockpit.journal import (
    Actor,
    Batcher,
    Journal,
    JournalError,
    JournalFailed,
    JournalUnreadable,
    Record,
    default_sessions_dir,
    new_session_path,
)
from cockpit.profile import (
    Check,
    Profile,
    ProfileError,
    ResolvedProfile,
    load_profile,
    resolve_profile,
)
from cockpit.runner import (
    ProcessSpec,
    ProcessStarter,
    SpawnError,
    StandbySupervisor,
    StartedProcess,
    reattach,
    start_process,
)
from cockpit.sample import Sample

log = logging.getLogger(__name__)

CHECK_INTERVAL = 10.0
"""Seconds between re-runs of the readiness checks while the checklist is open."""
TICK_INTERVAL = 0.5
"""Seconds between timer ticks (the 5-minute rule, the health window, verification)."""
FLUSH_INTERVAL = 1.0
"""Seconds between flushes of batched samples to the journal."""

Listener = Callable[[list[Event]], None]


def events_from_records(records: list[Record]) -> list[Event]:
    """The engine events a journal holds, with batched samples expanded in order."""
    events: list[Event] = []
    for record in records:
        if record.kind == "samples":
            for items in record.body.values():
                for item in items:
                    body = dict(item)
                    wall = float(body.pop("wall", record.wall))
                    events.append(Event(SAMPLE, body, record.actor, wall))
        elif record.kind not in ("refused", "note"):
            events.append(Event(record.kind, dict(record.body), record.actor, record.wall))
    return events


@dataclass
class Crew:
    """The people in the session's roles, and where they sit."""

    operator: str
    monitor: str
    tty: str | None = None
    approvers: tuple[str, ...] = ()

    def actor(self, role: str) -> Actor:
        """The actor for an action taken through a role's keys."""
        who = {"operator": self.operator, "monitor": self.monitor}.get(role, role)
        return Actor(role=role, user=who, tty=self.tty)


@dataclass
class RunningProcess:
    """What the screen needs to follow a process: its output file."""

    purpose: str
    ref: str
    output: Path


@dataclass
class Session:
    """One deploy or rollback session, live."""

    resolved: ResolvedProfile
    journal: Journal
    session_dir: Path
    crew: Crew
    clock: Clock
    state: State = field(default_factory=State)
    listeners: list[Listener] = field(default_factory=list)
    journal_failed: str | None = None
    processes: dict[tuple[str, str], RunningProcess] = field(default_factory=dict)
    _batcher: Batcher | None = None
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _kept: set[asyncio.Task[Any]] = field(default_factory=set)
    _standby: StandbySupervisor | None = None  # kept warm for the rollback once executing
    announcements: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    webhook: Webhook | None = None
    evidence: list[Path] = field(default_factory=list)
    evidence_error: str | None = None
    starter: ProcessStarter = start_process
    """Starts steps and rollbacks; tests and screenshots pass a scripted stand-in."""

    # ------------------------------------------------------------ creation

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
    ) -> Session:
        """Load the profile, open a new journal and record the session's start.

        Raises:
            ProfileError: the profile is invalid or a referenced variable is not set.
            Refusal: the crew breaks the two-person rule.
            OSError: the sessions directory cannot be created.
        """
        clock = clock or SystemClock()
        path = Path(profile_path)
        profile = load_profile(path)
        resolved = resolve_profile(profile, os.environ if environ is None else environ)
        crew = Crew(
            operator=(operator or profile.roles.operator or "operator").strip(),
            monitor=(monitor or profile.roles.monitor or "monitor").strip(),
            tty=_tty(),
            approvers=tuple(profile.roles.approvers),
        )
        intent = i.StartSession(
            crew.actor("operator"),
            clock.wall(),
            profile=profile.model_dump(mode="json"),
            profile_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            profile_path=str(path.resolve()),
            operator=crew.operator,
            monitor=crew.monitor,
            approvers=crew.approvers,
            os_user=_os_user(),
            host=socket.gethostname(),
        )
        events = decide(State(), intent)  # refuses a bad crew before any file exists
        directory = sessions_dir or default_sessions_dir()
        journal_path = new_session_path(directory, profile.deployment.service, clock.wall())
        session_dir = journal_path.with_suffix("")
        session_dir.mkdir(mode=0o700, exist_ok=True)
        journal = Journal.open(journal_path)
        session = cls(
            resolved=resolved,
            journal=journal,
            session_dir=session_dir,
            crew=crew,
            clock=clock,
            starter=starter,
        )
        session._batcher = Batcher(journal, "samples", actor=SYSTEM)
        if resolved.profile.announce.webhook:
            session.webhook = Webhook(resolved.profile.announce.webhook, secrets=resolved.secrets)
        session._commit(intent, events)
        return session

    @classmethod
    def resume(
        cls,
        journal_path: Path | str,
        *,
        environ: dict[str, str] | None = None,
        clock: Clock | None = None,
        starter: ProcessStarter = start_process,
    ) -> Session:
        """Reopen a session after the cockpit died: replay its journal and carry on.

        A torn last record is repaired (the original kept as ``.broken``); any other damage
        is refused. Processes still running are reattached by :meth:`reattach_processes`.

        Raises:
            JournalError: the journal is damaged, locked by a live cockpit, or unreadable.
            ProfileError: a variable the profile needs is not set.
        """
        clock = clock or SystemClock()
        path = Path(journal_path)
        if not path.is_file():
            # Journal.open would start a new, empty journal: never do that for a resume.
            raise JournalUnreadable(path, "no such journal file; check the path")
        journal = Journal.open(path)
        state = replay(events_from_records(journal.records))
        if state.profile is None:
            journal.close()
            raise JournalUnreadable(path, "not a session journal (no session.started record)")
        resolved = resolve_profile(state.profile, os.environ if environ is None else environ)
        crew = Crew(
            operator=state.crew["operator"],
            monitor=state.crew["monitor"],
            tty=_tty(),
            approvers=state.approvers,
        )
        session = cls(
            resolved=resolved,
            journal=journal,
            session_dir=journal.path.with_suffix(""),
            crew=crew,
            clock=clock,
            state=state,
            starter=starter,
        )
        session.session_dir.mkdir(mode=0o700, exist_ok=True)
        session._batcher = Batcher(journal, "samples", actor=SYSTEM)
        if resolved.profile.announce.webhook:
            session.webhook = Webhook(resolved.profile.announce.webhook, secrets=resolved.secrets)
        wall = clock.wall()
        resumed = Event(
            "session.resumed",
            {"os_user": _os_user(), "host": socket.gethostname(), "tty": crew.tty},
            crew.actor("operator"),
            wall,
        )
        session.journal.append(
            resumed.kind, resumed.body, actor=resumed.actor, wall=wall, t_plus=state.t_plus(wall)
        )
        apply(state, resumed)  # the fold ignores it, but it is an event like any other
        if state.t0 is not None and not state.phase.finished and state.rollback is None:
            session._standby = _new_standby()
        return session

    async def reattach_processes(self) -> int:
        """Follow every step or rollback that was started and has not been seen to end.

        Returns how many were reattached. One that ended while the cockpit was down is
        recorded with the result its supervisor left; one that left none, as lost.
        """
        count = 0
        for record in self.journal.records:
            if record.kind != "process.started":
                continue
            purpose, ref = str(record.body["purpose"]), str(record.body["ref"])
            if not self._still_running(purpose, ref):
                continue
            output = Path(str(record.body["output"]))
            self.processes[(purpose, ref)] = RunningProcess(purpose, ref, output)
            handle = reattach(
                output,
                supervisor_pid=int(record.body.get("supervisor_pid") or 0),
                pid=int(record.body["pid"]),
                pgid=int(record.body["pgid"]),
                started_wall=float(record.body.get("started_wall") or record.wall),
                secrets=self.resolved.secrets,
            )
            self._spawn(self._wait(purpose, ref, handle), keep=True)
            count += 1
        return count

    def _still_running(self, purpose: str, ref: str) -> bool:
        if purpose == "step":
            return self.state.step_state(ref).status is StepStatus.RUNNING
        rollback = self.state.rollback
        if rollback is None or rollback.verdict is not None:
            return False
        command = rollback.commands[int(ref)]
        return command.pid is not None and not command.finished

    @property
    def profile(self) -> Profile:
        """The resolved profile (references substituted)."""
        return self.resolved.profile

    @property
    def read_only(self) -> bool:
        """Whether this terminal only watches (see ``cockpit.watch``)."""
        return False

    @property
    def journal_path(self) -> Path:
        """The journal file."""
        return self.journal.path

    # ------------------------------------------------------------ intents

    def submit(self, intent: i.Intent) -> list[Event]:
        """Decide, record, apply, then start the effects as tasks.

        Raises:
            Refusal: the engine refused, or the journal cannot record an action.
        """
        events, effects = self._submit(intent)
        for effect in effects:
            self._spawn(effect)
        return events

    async def act(self, intent: i.Intent) -> list[Event]:
        """Like :meth:`submit`, but run the effects' first part now (used for keys).

        ROLLING BACK NOW goes through here: when this returns, the rollback process exists.
        """
        events, effects = self._submit(intent)
        for effect in effects:
            await effect
        return events

    def _submit(self, intent: i.Intent) -> tuple[list[Event], list[Coroutine[Any, Any, None]]]:
        if self.journal_failed is not None and _is_action(intent):
            self._refused(intent, "journal failed")
            raise Refusal(
                f"the journal failed ({self.journal_failed}): no new actions can be recorded; "
                "R still rolls back"
            )
        try:
            events = decide(self.state, intent)
        except Refusal as refusal:
            self._refused(intent, refusal.reason)
            raise
        self._commit(intent, events)
        return events, self._effects(events)

    def _commit(self, intent: i.Intent, events: list[Event]) -> None:
        try:
            self._record(events)
        except JournalFailed as exc:
            self.journal_failed = str(exc)
            log.error("journal failed: %s", exc)
            if _is_action(intent) and not any(e.kind == "rollback.started" for e in events):
                # Intent before execution: what is not recorded must not happen.
                raise Refusal(f"the journal failed: {exc}; nothing was done") from None
        for event in events:
            before = state_before(self.state) if event.kind in ANNOUNCED_KINDS else None
            apply(self.state, event)
            if before is not None:
                text = announcement(event, before, self.state)
                if text:
                    self._announce(text, event)
        if not events:
            return  # a tick that decided nothing: nobody needs to redraw
        for listener in list(self.listeners):
            listener(events)

    def _announce(self, text: str, event: Event) -> None:
        """Show an announcement, and post it to the webhook without waiting for it."""
        self.announcements.append(text)
        if self.webhook is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet (the session's first event): nothing can be posted
        self.webhook.send(
            text,
            kind=event.kind,
            deployment=self.profile.deployment.name,
            t_plus=self.state.t_plus(event.wall),
            on_error=self._webhook_failed,
        )

    def _webhook_failed(self, error: str) -> None:
        self.announcements.append(error)
        if self.journal_failed is None:
            with contextlib.suppress(JournalFailed, ValueError, TypeError):
                self.flush()
                wall = self.clock.wall()
                self.journal.append(
                    "note", {"text": error}, actor=SYSTEM, wall=wall, t_plus=self.state.t_plus(wall)
                )

    def _record(self, events: list[Event]) -> None:
        if self.journal_failed is not None:
            raise JournalFailed(self.journal_failed)
        for event in events:
            if event.kind in HIGH_RATE_KINDS and self._batcher is not None:
                self._batcher.add(
                    str(event.body.get("id", event.kind)), {"wall": event.wall, **event.body}
                )
                continue
            self.flush()
            # execution.started is T0 itself; the state learns T0 only when it is applied.
            t_plus = 0.0 if event.kind == "execution.started" else self.state.t_plus(event.wall)
            self.journal.append(
                event.kind, event.body, actor=event.actor, wall=event.wall, t_plus=t_plus
            )

    def flush(self) -> None:
        """Write batched samples now (before any decision, so the journal keeps the order)."""
        if self._batcher is not None and len(self._batcher):
            wall = self.clock.wall()
            self._batcher.flush(wall=wall, t_plus=self.state.t_plus(wall))

    def _refused(self, intent: i.Intent, reason: str) -> None:
        if not _is_action(intent) or self.journal_failed is not None:
            return
        with contextlib.suppress(JournalFailed, ValueError, TypeError):
            self.flush()
            self.journal.append(
                "refused",
                {"intent": type(intent).__name__, "reason": reason},
                actor=intent.actor,
                wall=intent.wall,
                t_plus=self.state.t_plus(intent.wall),
            )

    # ------------------------------------------------------------ effects

    def _effects(self, events: list[Event]) -> list[Coroutine[Any, Any, None]]:
        effects: list[Coroutine[Any, Any, None]] = []
        for event in events:
            if event.kind == "execution.started" and self._standby is None:
                self._standby = _new_standby()
            if event.kind == "step.starting":
                effects.append(self._start_step(str(event.body["step"]), int(event.body["index"])))
            elif event.kind == "rollback.started":
                effects.append(self._start_rollback_command(0))
        if events and self.state.phase.finished and not self.evidence:
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
            log.error("session task failed", exc_info=task.exception())

    def _spec(
        self,
        argv: list[str],
        output: str,
        *,
        shell: bool,
        env: dict[str, str],
        timeout: float,
    ) -> ProcessSpec:
        """A process of this session: its output in the session directory, secrets redacted."""
        return ProcessSpec(
            argv=tuple(argv),
            output_path=self.session_dir / output,
            shell=shell,
            env=dict(env),
            timeout=timeout,
            secrets=self.resolved.secrets,
        )

    async def _start_step(self, step_id: str, index: int) -> None:
        step = self.profile.steps()[index][1]
        spec = self._spec(
            step.command,
            f"step-{index + 1}-{step.id}.out",
            shell=step.shell,
            env=step.env,
            timeout=step.timeout,
        )
        await self._start_process("step", step_id, spec)

    async def _start_rollback_command(self, index: int) -> None:
        rollback = self.profile.rollback
        spec = self._spec(
            rollback.commands[index],
            f"rollback-{index + 1}.out",
            shell=rollback.shell,
            env=rollback.env,
            timeout=rollback.timeout,
        )
        standby, self._standby = self._standby, None
        await self._start_process("rollback", str(index), spec, standby=standby)
        if standby is not None:
            standby.close()  # a no-op if it was used; if it was dead, let it go
        if index == 0:
            self._spawn(self._snapshot())

    async def _start_process(
        self, purpose: str, ref: str, spec: ProcessSpec, *, standby: StandbySupervisor | None = None
    ) -> None:
        key = (purpose, ref)
        self.processes[key] = RunningProcess(purpose, ref, spec.output_path)
        try:
            handle = await self.starter(spec, standby=standby)
        except SpawnError as exc:
            result = exc.result
            self._safe_submit(
                i.ProcessExited(
                    SYSTEM,
                    self.clock.wall(),
                    purpose,
                    ref,
                    exit_code=None if result is None else result.exit_code,
                    error=str(exc),
                )
            )
            return
        self._safe_submit(
            i.ProcessStarted(
                SYSTEM,
                self.clock.wall(),
                purpose,
                ref,
                handle.pid,
                handle.pgid,
                str(spec.output_path),
                argv=tuple(spec.argv),
                supervisor_pid=handle.supervisor_pid,
                started_wall=handle.started_wall,
            )
        )
        self._spawn(self._wait(purpose, ref, handle), keep=True)

    async def _wait(self, purpose: str, ref: str, handle: StartedProcess) -> None:
        result = await handle.wait(terminate_on_cancel=False)
        self._safe_submit(
            i.ProcessExited(
                SYSTEM,
                self.clock.wall(),
                purpose,
                ref,
                exit_code=result.exit_code,
                signal=result.signal,
                timed_out=result.timed_out,
                duration=result.duration,
                error=result.error,
            )
        )
        rollback = self.state.rollback
        if purpose == "rollback" and result.ok and rollback is not None:
            following = int(ref) + 1
            if following < len(rollback.commands) and rollback.verdict is None:
                await self._start_rollback_command(following)

    async def _snapshot(self) -> None:
        metrics = {
            metric_id: m.last.to_json() for metric_id, m in self.state.metrics.items() if m.last
        }
        tail: list[str] = []
        step_outputs = [p for p in self.processes.values() if p.purpose == "step"]
        if step_outputs:
            tail = await asyncio.to_thread(_last_lines, step_outputs[-1].output, 20)
        self._safe_submit(i.RecordSnapshot(SYSTEM, self.clock.wall(), metrics, tail))

    def _safe_submit(self, intent: i.Intent) -> None:
        with contextlib.suppress(Refusal):
            self.submit(intent)

    # ------------------------------------------------------------ loops (run as workers)

    def on_sample(self, sample: Sample) -> None:
        """Feed a metric sample from the probe scheduler."""
        self._safe_submit(i.RecordSample(SYSTEM, self.clock.wall(), sample))

    async def run_probes(self) -> None:
        """Sample every metric at its interval until cancelled."""
        from cockpit.probes import ProbeScheduler

        scheduler = ProbeScheduler(
            self.profile.metrics, self.on_sample, clock=self.clock, secrets=self.resolved.secrets
        )
        await scheduler.run()

    async def run_checks(self, *, only_due: bool = False) -> None:
        """Run the automated readiness checks once, concurrently.

        With ``only_due``, only those not PASS or past half their validity: a PASS that is
        still fresh need not be measured again (and the host is not loaded for nothing).
        """
        from cockpit.probes import run_check

        async def one(check: Check) -> None:
            sample = await run_check(
                check, self.profile, clock=self.clock, secrets=self.resolved.secrets
            )
            if self.state.phase in (Phase.BRIEFING, Phase.CHECKLIST):
                self._safe_submit(i.RecordCheck(SYSTEM, self.clock.wall(), sample))

        automated = [c for c in self.profile.checks if c.manual is None]
        if only_due:
            now = self.clock.wall()
            half = self.profile.checks_valid_for / 2
            due = []
            for check in automated:
                last = self.state.checks[check.id].sample if check.id in self.state.checks else None
                if last is None or last.status.value != "PASS" or now - last.measured_at > half:
                    due.append(check)
            automated = due
        await asyncio.gather(*(one(c) for c in automated))

    async def run_checklist(self) -> None:
        """Re-run the readiness checks while the checklist is open."""
        await self.run_checks()
        while self.state.phase in (Phase.NEW, Phase.BRIEFING, Phase.CHECKLIST):
            await asyncio.sleep(CHECK_INTERVAL)
            await self.run_checks(only_due=True)

    async def run_clock(self) -> None:
        """Tick the engine's timers and flush batched samples until cancelled."""
        last_flush = self.clock.monotonic()
        while True:
            await asyncio.sleep(TICK_INTERVAL)
            self.tick()
            if self.clock.monotonic() - last_flush >= FLUSH_INTERVAL:
                last_flush = self.clock.monotonic()
                with contextlib.suppress(JournalFailed):
                    self.flush()

    def tick(self) -> None:
        """Let the engine look at the time (the 5-minute rule, health, verification)."""
        self._safe_submit(i.Tick(SYSTEM, self.clock.wall()))

    async def start(self) -> None:
        """Start probes, checks and the clock as background tasks (headless use)."""
        for loop in (self.run_probes(), self.run_checklist(), self.run_clock()):
            self._spawn(loop)

    async def write_evidence(self) -> None:
        """Write the evidence files and DEPLOYMENT-REPORT.md from the journal (off the loop)."""
        from cockpit.evidence import write_evidence

        with contextlib.suppress(JournalFailed):
            self.flush()
        out = Path(self.profile.evidence_dir) if self.profile.evidence_dir else None
        try:
            self.evidence = await asyncio.to_thread(write_evidence, self.journal_path, out)
            self.evidence_error = None
        except (JournalError, OSError, ValueError) as exc:
            self.evidence_error = f"evidence not written: {exc}"
        for listener in list(self.listeners):
            listener([])

    async def stop(self) -> None:
        """Stop the loops and the standby, let announcements drain, flush the journal.

        Started processes keep running by design: a rollback must survive the screen.
        """
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._standby is not None:
            self._standby.close()
            self._standby = None
        if self.webhook is not None:
            await self.webhook.drain(timeout=2.0)
        with contextlib.suppress(JournalFailed):
            self.flush()

    async def close(self) -> None:
        """Stop everything (see :meth:`stop`) and close the journal."""
        await self.stop()
        self.journal.close()


def _new_standby() -> StandbySupervisor | None:
    """A supervisor kept warm for the rollback, or None if one cannot be started now."""
    try:
        return StandbySupervisor()
    except SpawnError as exc:
        log.warning("no standby supervisor: %s", exc)
        return None


def _is_action(intent: i.Intent) -> bool:
    """Whether an intent is a person's action (as opposed to a measurement or the clock)."""
    return not isinstance(
        intent,
        i.RecordSample
        | i.RecordCheck
        | i.Tick
        | i.ProcessStarted
        | i.ProcessExited
        | i.RecordSnapshot,
    )


def _last_lines(path: Path, count: int) -> list[str]:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-count:]


def _tty() -> str | None:
    with contextlib.suppress(OSError):
        return os.ttyname(sys.stdin.fileno())
    return None


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


__all__ = ["Crew", "ProfileError", "Session", "events_from_records"]
