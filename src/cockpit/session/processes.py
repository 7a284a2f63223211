"""The session's effects: the processes its events ask for, and what really runs.

A ``step.starting`` event starts the step's process, a ``rollback.started`` event the first
rollback command, a rollback command that succeeded the next one. Each is started under a
detached supervisor (``cockpit.runner``) that outlives the cockpit, and followed until it ends.

The journal records an intent before the process exists, so a cockpit that dies in between
leaves an intent with no process behind. :meth:`Processes.reconcile` compares every recorded
intent with what exists (the supervisor's result file, a live supervisor, the output file it
claimed) and closes the gap: a rollback recorded but never started is started at once; one
that started unrecorded is followed; a step recorded but never started is marked as not run,
for the crew to decide. A resumed cockpit reconciles before anything else; a live one does it
on every tick too, so an effect that failed in this process cannot leave a rollback unstarted.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cockpit.clock import Clock
from cockpit.engine import SYSTEM, Event, State, StepStatus
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.engine.state import RollbackCommand, StepState
from cockpit.profile import ResolvedProfile
from cockpit.runner import (
    AlreadyClaimed,
    ProcessSpec,
    ProcessStarter,
    SpawnError,
    StandbySupervisor,
    StartedProcess,
    attach,
    reattach,
)

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""A process of the session: ("step", step id) or ("rollback", command index)."""
Effect = Coroutine[Any, Any, None]


@dataclass
class RunningProcess:
    """What the screen needs to follow a process: its output file."""

    purpose: str
    ref: str
    output: Path


class Processes:
    """Starts, follows and reconciles the session's step and rollback processes.

    Args:
        resolved: The profile with its references resolved (commands, secrets).
        state: The session's state (read only here; it changes through ``submit``).
        session_dir: Where output files go.
        clock: The session's clock.
        starter: Starts a process (:func:`cockpit.runner.start_process`, or a stand-in).
        submit: Records an intent about a process (it never raises).
        spawn: Runs a coroutine as a task; ``keep`` ones outlive the screen.
    """

    def __init__(
        self,
        *,
        resolved: ResolvedProfile,
        state: State,
        session_dir: Path,
        clock: Clock,
        starter: ProcessStarter,
        submit: Callable[[i.Intent], None],
        spawn: Callable[[Effect, bool], None],
    ) -> None:
        self.resolved = resolved
        self.state = state
        self.session_dir = session_dir
        self.clock = clock
        self.starter = starter
        self._submit = submit
        self._spawn = spawn
        self.running: dict[Key, RunningProcess] = {}
        """Every process started or followed by this cockpit, by key (the screen's list)."""
        self._busy: set[Key] = set()
        """Keys this cockpit is starting or following right now: reconcile leaves them be."""
        self.standby: StandbySupervisor | None = None
        """A supervisor kept warm for the rollback once there is something to roll back."""

    # ------------------------------------------------------------ effects of events

    def effects(self, events: list[Event]) -> list[Effect]:
        """The coroutines that carry out ``events`` (already recorded and applied)."""
        effects: list[Effect] = []
        for event in events:
            if event.kind == Kind.EXECUTION_STARTED:
                self.keep_standby()
            if event.kind == Kind.STEP_STARTING:
                step_id, index = str(event.body["step"]), int(event.body["index"])
                effects.append(self._claimed(("step", step_id), self._start_step(step_id, index)))
            elif event.kind == Kind.ROLLBACK_STARTED:
                effects.append(self._claimed(("rollback", "0"), self._start_rollback(0)))
        return effects

    def keep_standby(self) -> None:
        """Keep a supervisor warm for the rollback (once there is something to roll back)."""
        if self.standby is None:
            self.standby = new_standby()

    def _claimed(self, key: Key, effect: Effect) -> Effect:
        """Mark ``key`` busy now, before the effect first runs: a reconcile in between must
        not start the same process a second time."""
        self._busy.add(key)
        return effect

    def _spec(self, argv: list[str], output: str, **kwargs: Any) -> ProcessSpec:
        """A process of this session: its output in the session directory, secrets redacted."""
        return ProcessSpec(
            argv=tuple(argv),
            output_path=self.session_dir / output,
            secrets=self.resolved.secrets,
            **kwargs,
        )

    def step_spec(self, index: int) -> ProcessSpec:
        """The process of the step at ``index``."""
        step = self.resolved.profile.steps()[index][1]
        return self._spec(
            step.command,
            f"step-{index + 1}-{step.id}.out",
            shell=step.shell,
            env=dict(step.env),
            timeout=step.timeout,
        )

    def rollback_spec(self, index: int) -> ProcessSpec:
        """The process of rollback command ``index``."""
        rollback = self.resolved.profile.rollback
        return self._spec(
            rollback.commands[index],
            f"rollback-{index + 1}.out",
            shell=rollback.shell,
            env=dict(rollback.env),
            timeout=rollback.timeout,
        )

    async def _start_step(self, step_id: str, index: int, found: str = "") -> None:
        await self._start("step", step_id, self.step_spec(index), found=found)

    async def _start_rollback(self, index: int, found: str = "") -> None:
        standby, self.standby = self.standby, None
        await self._start("rollback", str(index), self.rollback_spec(index), standby, found)
        if standby is not None:
            standby.close()  # a no-op if it was used; if it was dead, let it go
        if index == 0:
            self._spawn(self._snapshot(), False)

    async def _start(
        self,
        purpose: str,
        ref: str,
        spec: ProcessSpec,
        standby: StandbySupervisor | None = None,
        found: str = "",
    ) -> None:
        key = (purpose, ref)
        self._busy.add(key)
        self.running[key] = RunningProcess(purpose, ref, spec.output_path)
        try:
            handle = await self.starter(spec, standby=standby)
        except AlreadyClaimed:
            # Started before (by a cockpit that died before recording it): follow that run.
            await self._follow_claimed(purpose, ref, spec)
            return
        except SpawnError as exc:
            self._busy.discard(key)
            result = exc.result
            self._submit(
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
        except BaseException:
            self._busy.discard(key)  # reconcile will see the intent without a process
            raise
        self._started(purpose, ref, spec, handle, found)

    def _started(
        self, purpose: str, ref: str, spec: ProcessSpec, handle: StartedProcess, found: str = ""
    ) -> None:
        self._submit(
            i.ProcessStarted(
                SYSTEM,
                self.clock.wall(),
                purpose,
                ref,
                handle.pid,
                handle.pgid,
                str(spec.output_path),
                argv=spec.argv,
                supervisor_pid=handle.supervisor_pid,
                started_wall=handle.started_wall,
                found=found,
            )
        )
        self._spawn(self._wait(purpose, ref, handle), True)

    async def _follow_claimed(self, purpose: str, ref: str, spec: ProcessSpec) -> None:
        handle = await attach(spec.output_path, grace=spec.grace, secrets=self.resolved.secrets)
        if handle is None:  # claimed, then gone without a trace: cannot happen, but say so
            handle = reattach(spec.output_path, supervisor_pid=0, pid=0, pgid=0, started_wall=0.0)
        found = "ended" if handle.poll() is not None else "running"
        self._started(purpose, ref, spec, handle, found)

    async def _wait(self, purpose: str, ref: str, handle: StartedProcess) -> None:
        key = (purpose, ref)
        try:
            result = await handle.wait(terminate_on_cancel=False)
        finally:
            self._busy.discard(key)
        self._submit(
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
                note=result.note,
            )
        )
        rollback = self.state.rollback
        if purpose == "rollback" and result.ok and rollback is not None:
            following = int(ref) + 1
            if following < len(rollback.commands) and rollback.verdict is None:
                self._busy.add(("rollback", str(following)))
                await self._start_rollback(following)

    async def _snapshot(self) -> None:
        metrics = {
            metric_id: m.last.to_json() for metric_id, m in self.state.metrics.items() if m.last
        }
        tail: list[str] = []
        step_outputs = [p for p in self.running.values() if p.purpose == "step"]
        if step_outputs:
            tail = await asyncio.to_thread(last_lines, step_outputs[-1].output, 20)
        self._submit(i.RecordSnapshot(SYSTEM, self.clock.wall(), metrics, tail))

    # ------------------------------------------------------------ reconciling

    def reconcile(self) -> list[Effect]:
        """Close every gap between the recorded intents and the processes that exist.

        Returns the coroutines that do it (start, attach, follow); an empty list when the
        record and the system agree, which is the common case and costs a few comparisons.
        """
        state = self.state
        if state.profile is None:
            return []
        work: list[Effect] = []
        for index, step in enumerate(state.steps):
            key = ("step", step.id)
            if key in self._busy:
                continue
            if step.status is StepStatus.STARTING:
                work.append(self._claimed(key, self._reconcile_step(step.id, index)))
            elif step.status is StepStatus.RUNNING and step.output is not None:
                work.append(self._claimed(key, self._follow_recorded("step", step.id)))
        rollback = state.rollback
        if rollback is None or rollback.verdict is not None:
            return work
        for command in rollback.commands:
            key = ("rollback", str(command.index))
            if command.finished:
                if command.exit_code == 0 and command.why is None:
                    continue  # the next command is due
                break
            if key in self._busy:
                break
            if command.pid is None:
                work.append(self._claimed(key, self._start_rollback(command.index, "not started")))
            else:
                work.append(self._claimed(key, self._follow_recorded("rollback", key[1])))
            break
        return work

    async def _reconcile_step(self, step_id: str, index: int) -> None:
        """A step recorded as starting, with no process recorded: did it start?"""
        spec = self.step_spec(index)
        handle = await attach(spec.output_path, grace=spec.grace, secrets=self.resolved.secrets)
        if handle is None:
            self._busy.discard(("step", step_id))
            self._submit(
                i.MarkNotStarted(
                    SYSTEM,
                    self.clock.wall(),
                    step_id,
                    "recorded as starting, but its process never started (the cockpit stopped "
                    "in between): it has not run",
                )
            )
            return
        self.running[("step", step_id)] = RunningProcess("step", step_id, spec.output_path)
        found = "ended" if handle.poll() is not None else "running"
        self._started("step", step_id, spec, handle, found)

    async def _follow_recorded(self, purpose: str, ref: str) -> None:
        """Follow a process whose start is recorded and whose end is not."""
        started: StepState | RollbackCommand
        if purpose == "step":
            started = self.state.step_state(ref)
        else:
            assert self.state.rollback is not None
            started = self.state.rollback.commands[int(ref)]
        output = Path(started.output or "")
        self.running[(purpose, ref)] = RunningProcess(purpose, ref, output)
        handle = reattach(
            output,
            supervisor_pid=started.supervisor_pid,
            pid=started.pid or 0,
            pgid=started.pgid or 0,
            started_wall=started.process_started,
            secrets=self.resolved.secrets,
        )
        self._spawn(self._wait(purpose, ref, handle), True)

    def close(self) -> None:
        """Send the standby supervisor away (started processes keep running)."""
        if self.standby is not None:
            self.standby.close()
            self.standby = None


def new_standby() -> StandbySupervisor | None:
    """A supervisor kept warm for the rollback, or None if one cannot be started now."""
    try:
        return StandbySupervisor()
    except SpawnError as exc:
        log.warning("no standby supervisor: %s", exc)
        return None


def last_lines(path: Path, count: int) -> list[str]:
    """The last ``count`` lines of a file (read from its last 16 KiB)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read()
    except OSError:
        return []
    return data.decode("utf-8", "replace").splitlines()[-count:]
