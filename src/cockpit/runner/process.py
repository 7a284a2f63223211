"""Starting and supervising deploy steps and rollbacks.

Each step runs under its own detached supervisor (``supervise.py``), which
outlives the cockpit: a rollback started before the cockpit crashed finishes,
its output file is complete and its result file says how it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import marshal
import os
import secrets
import signal
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cockpit.files import FileRefused, secure_directory
from cockpit.runner import proctree
from cockpit.runner.redact import Redactor
from cockpit.standby import BOOT, spawn, take_early

#: How long the supervisor may take to report that the command started.
STARTUP_TIMEOUT = 10.0
#: Extra time past the grace period before the cockpit kills a step itself
#: (only when the supervisor did not answer).
FALLBACK_MARGIN = 5.0


class SpawnError(Exception):
    """The command could not be started (no such file, not executable, bad cwd).

    ``message`` is redacted and meant for the screen and the journal;
    ``result`` is the matching failed :class:`ProcessResult`.
    """

    def __init__(self, message: str, result: ProcessResult | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result or ProcessResult(None, None, False, 0.0, message)


class AlreadyClaimed(SpawnError):
    """The run's output file exists: an earlier supervisor owns this run, so it was not
    started again. :func:`attach` finds that run."""


@dataclass(frozen=True)
class ProcessSpec:
    """What to run and where its output goes.

    Attributes:
        argv: The command as an argv list; for ``shell=True`` a single command string.
        output_path: File that receives stdout and stderr, redacted.
        shell: Run ``argv[0]`` through ``/bin/sh -c`` (shown on screen by the caller).
        env: Variables added to ``os.environ`` for the command; the place for secrets.
        cwd: Working directory of the command.
        timeout: Seconds before SIGTERM, grace, SIGKILL; ``None`` for no limit.
        grace: Seconds between SIGTERM and SIGKILL.
        secrets: Values to redact from the output, the result and messages.
    """

    argv: tuple[str, ...]
    output_path: Path
    shell: bool = False
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    timeout: float | None = None
    grace: float = 5.0
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcessResult:
    """How a step ended.

    Attributes:
        exit_code: The exit status, or ``None`` if it died of a signal or never ran.
        signal: The signal that ended it, if any.
        timed_out: Whether the timeout expired while it was running.
        duration: Seconds from spawn to exit.
        error: Why it did not end normally (redacted), or ``None``.
        note: What went wrong around it, not with it (its output or result could not be
            written: the disk is full), or ``None``.
    """

    exit_code: int | None
    signal: int | None
    timed_out: bool
    duration: float
    error: str | None
    note: str | None = None

    @property
    def ok(self) -> bool:
        """True only for a clean exit with status 0."""
        return self.exit_code == 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessResult:
        """Build from the supervisor's result file contents."""
        return cls(
            exit_code=data.get("exit_code"),
            signal=data.get("signal"),
            timed_out=bool(data.get("timed_out", False)),
            duration=float(data.get("duration", 0.0)),
            error=data.get("error"),
            note=data.get("note"),
        )


def result_path_for(output_path: Path) -> Path:
    """Where the result of the step writing ``output_path`` goes."""
    return output_path.with_name(output_path.name + ".result.json")


def _cancel_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.name + ".cancel")


def run_path_for(output_path: Path) -> Path:
    """Where the supervisor of the step writing ``output_path`` says who runs it."""
    return output_path.with_name(output_path.name + ".run.json")


def _write_new(path: Path, text: str) -> None:
    """Replace ``path`` by a new file holding ``text``; a symlink planted there is removed,
    never followed."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


class StartedProcess(Protocol):
    """What the session needs of a started step or rollback (a :class:`ProcessHandle`)."""

    pid: int
    pgid: int
    supervisor_pid: int
    started_wall: float

    async def wait(self, *, terminate_on_cancel: bool = True) -> ProcessResult:
        """Until the process has ended; its result."""
        ...


class ProcessStarter(Protocol):
    """Starts a step or rollback: :func:`start_process`, or a stand-in in tests."""

    async def __call__(
        self, spec: ProcessSpec, *, standby: StandbySupervisor | None = None
    ) -> StartedProcess:
        """Spawn ``spec`` and return as soon as its pid is known."""
        ...


class ProcessHandle:
    """A running (or finished) step.

    ``pid`` and ``pgid`` are the command's, ``supervisor_pid`` its
    supervisor's: journal them before awaiting :meth:`wait`.
    """

    def __init__(
        self,
        *,
        pid: int,
        pgid: int,
        supervisor_pid: int,
        output_path: Path,
        started_wall: float,
        grace: float,
        tag: str | None,
        secrets: tuple[str, ...] = (),
        popen: subprocess.Popen[bytes] | None = None,
        result: ProcessResult | None = None,
        status_fd: int | None = None,
        status_read: bytes = b"",
    ) -> None:
        self.pid = pid
        self.pgid = pgid
        self.supervisor_pid = supervisor_pid
        self.output_path = output_path
        self.result_path = result_path_for(output_path)
        self.started_wall = started_wall
        self.grace = grace
        self._tag = tag
        self._redactor = Redactor(secrets)
        self._popen = popen
        self._result = result
        # The supervisor's stdout: its result when no file can hold it (and what was already
        # read from it after the "started" line).
        self._status_fd = status_fd
        self._status_read = status_read
        self._pidfd: int | None = None
        if result is None:
            try:
                self._pidfd = os.pidfd_open(supervisor_pid)
            except OSError:  # already gone, or a kernel without pidfd: poll instead
                self._pidfd = None

    def __repr__(self) -> str:
        return f"<ProcessHandle pid={self.pid} supervisor={self.supervisor_pid}>"

    def poll(self) -> ProcessResult | None:
        """The result if the step has finished, else ``None``; never blocks."""
        if self._result is None and not self._supervisor_alive():
            self._finish()
        return self._result

    async def wait(self, *, terminate_on_cancel: bool = True) -> ProcessResult:
        """Wait for the step to end.

        If the awaiting task is cancelled, the step is terminated (SIGTERM,
        grace, SIGKILL, done by the supervisor without needing this process)
        unless ``terminate_on_cancel`` is false, e.g. a rollback that must
        carry on while the cockpit quits.
        """
        if self._result is not None:
            return self._result
        try:
            await self._supervisor_exit()
        except asyncio.CancelledError:
            if terminate_on_cancel:
                self._request_termination(self.grace)
            raise
        return self._finish()

    async def terminate(self, grace: float = 5.0) -> ProcessResult:
        """SIGTERM the group and every descendant, wait ``grace`` s, then SIGKILL."""
        if self._result is not None or self.poll() is not None:
            assert self._result is not None
            return self._result
        self._request_termination(grace)
        try:
            async with asyncio.timeout(grace + FALLBACK_MARGIN):
                return await self.wait(terminate_on_cancel=False)
        except TimeoutError:
            # The supervisor did not answer (stopped? killed?): do it ourselves.
            proctree.kill_tree(self.supervisor_pid, self.pgid, self._tag)
            return await self.wait(terminate_on_cancel=False)

    # -- internals -----------------------------------------------------------

    def _request_termination(self, grace: float) -> None:
        """Ask the supervisor to stop the step; synchronous, so safe in ``finally``."""
        if self._result is not None:
            return
        cancel = _cancel_path_for(self.output_path)
        try:
            tmp = cancel.with_name(cancel.name + ".tmp")
            _write_new(tmp, f"{max(0.0, grace)!r}\n")
            tmp.replace(cancel)
        except OSError:
            pass  # the supervisor falls back to the spec's grace
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.supervisor_pid, signal.SIGTERM)

    def _supervisor_alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        return proctree.is_alive(self.supervisor_pid)

    async def _supervisor_exit(self) -> None:
        if self._pidfd is None:
            while self._supervisor_alive():
                await asyncio.sleep(0.02)
            return
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()

        def on_exit() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(self._pidfd, on_exit)
        try:
            await exited
        finally:
            loop.remove_reader(self._pidfd)

    def _finish(self) -> ProcessResult:
        if self._result is not None:
            return self._result
        if self._popen is not None:
            self._popen.wait()  # the supervisor has exited: reaps at once
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        try:
            data = json.loads(self.result_path.read_text(encoding="utf-8"))
            self._result = ProcessResult.from_json(data)
        except (OSError, ValueError, TypeError, AttributeError):
            self._result = self._result_from_status_pipe()
        self._close_status()
        if self._result is None:
            # The supervisor died without a result (SIGKILL?): make sure the
            # step is not left running unsupervised.
            proctree.kill_tree(None, self.pgid, self._tag)
            self._result = ProcessResult(
                exit_code=None,
                signal=None,
                timed_out=False,
                duration=max(0.0, time.time() - self.started_wall),
                error="the step's supervisor exited without a result; the step was killed",
            )
        with contextlib.suppress(OSError):
            _cancel_path_for(self.output_path).unlink()
        return self._result

    def _result_from_status_pipe(self) -> ProcessResult | None:
        """The ``result`` line the supervisor sent on its stdout (the file could not be
        written: the disk is full), or None."""
        if self._status_fd is None:
            return None
        data = bytearray(self._status_read)
        with contextlib.suppress(OSError):  # BlockingIOError: nothing more was sent
            while chunk := os.read(self._status_fd, 65536):
                data.extend(chunk)
        for line in bytes(data).splitlines():
            if line.startswith(b"result "):
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    return ProcessResult.from_json(json.loads(line[len(b"result ") :]))
        return None

    def _close_status(self) -> None:
        if self._status_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._status_fd)
            self._status_fd = None

    def __del__(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
        self._close_status()


def _validate(spec: ProcessSpec, redactor: Redactor) -> list[str]:
    if spec.shell:
        if len(spec.argv) != 1 or not spec.argv[0].strip():
            raise SpawnError("a shell step needs exactly one non-empty command string")
        argv = ["/bin/sh", "-c", spec.argv[0]]
    else:
        argv = list(spec.argv)
        if not argv or not argv[0]:
            raise SpawnError("empty command")
    if redactor and any(redactor.redact(arg) != arg for arg in argv):
        raise SpawnError(
            "a secret value appears in the command line, where other users can read it; "
            "pass it through the environment instead"
        )
    if spec.timeout is not None and not spec.timeout > 0:
        raise SpawnError(f"timeout must be positive, not {spec.timeout!r}")
    return argv


def _spawn_supervisor() -> subprocess.Popen[bytes]:
    """Start a supervisor; it waits for its job on stdin.

    Raises:
        SpawnError: the interpreter could not be started.
    """
    early = take_early()  # one `cockpit incident` started before its first frame
    if early is not None:
        return early
    try:
        return spawn()
    except OSError as exc:
        raise SpawnError(f"cannot start the step supervisor: {exc.strerror}") from None


class StandbySupervisor:
    """A supervisor started ahead of time, idle until it is given a job.

    Starting Python is most of a spawn's cost (about 8 ms of the 11 ms measured here), so
    the cockpit keeps one standing by for the rollback once there is something to roll
    back: ROLLING BACK NOW then costs a pipe write and a ``posix_spawn``. Closing it (or the
    cockpit dying) gives it an empty job, and it exits without doing anything.
    """

    def __init__(self) -> None:
        self._popen: subprocess.Popen[bytes] | None = _spawn_supervisor()

    def take(self) -> subprocess.Popen[bytes] | None:
        """The waiting supervisor, once; None if it is gone or was taken."""
        popen, self._popen = self._popen, None
        if popen is None or popen.poll() is not None:
            return None
        return popen

    def close(self) -> None:
        """Send it away with no job."""
        popen, self._popen = self._popen, None
        if popen is not None:
            for stream in (popen.stdin, popen.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=2.0)


async def start_process(
    spec: ProcessSpec, *, standby: StandbySupervisor | None = None
) -> ProcessHandle:
    """Start a step under a detached supervisor.

    Returns as soon as the command has been spawned, with its pid and process
    group for the journal.

    Args:
        spec: What to run.
        standby: A supervisor started ahead of time to use instead of starting
            one now (the rollback's fast path); a new one is started if it is
            gone.

    Raises:
        SpawnError: The command could not be started; the message is redacted
            and the output file also holds it. No traceback reaches the user.
    """
    redactor = Redactor(spec.secrets)
    argv = _validate(spec, redactor)
    output = Path(os.path.abspath(spec.output_path))
    result = result_path_for(output)
    cancel = _cancel_path_for(output)
    try:
        secure_directory(output.parent)
    except FileRefused as exc:  # someone else could redirect what is written there
        raise SpawnError(redactor.redact(f"refused: {exc}")) from None
    except OSError:
        pass  # the disk is full: the supervisor runs the command without its output
    # Nothing here may stop a rollback: if the output cannot be created (the disk is full),
    # the supervisor runs the command without it and says so in the result.
    with contextlib.suppress(OSError):
        if not os.path.lexists(output):  # an existing output belongs to its run: see attach
            for stale in (result, cancel, run_path_for(output)):
                stale.unlink(missing_ok=True)
    tag = secrets.token_hex(8)
    job = {
        "argv": argv,
        "env": {**os.environ, **spec.env, proctree.TAG_VARIABLE: tag},
        "cwd": os.path.abspath(spec.cwd) if spec.cwd is not None else None,
        "timeout": spec.timeout,
        "grace": float(spec.grace),
        "output": str(output),
        "result": str(result),
        "cancel": str(cancel),
        "secrets": list(spec.secrets),
        "tag": tag,
    }
    popen = (standby.take() if standby is not None else None) or _spawn_supervisor()
    assert popen.stdin is not None
    assert popen.stdout is not None
    handle: ProcessHandle | None = None
    try:
        try:
            popen.stdin.write(marshal.dumps(job))
            popen.stdin.close()
        except BrokenPipeError:
            pass  # the supervisor died; the status read below reports it
        first, rest = await _read_status(popen.stdout.fileno())
        line = first.decode("utf-8", "replace")
        words = line.split(" ", 1)
        if words[0] == "started":
            pid, pgid, wall = words[1].split()
            handle = ProcessHandle(
                pid=int(pid),
                pgid=int(pgid),
                supervisor_pid=popen.pid,
                output_path=output,
                started_wall=float(wall),
                grace=spec.grace,
                tag=tag,
                secrets=spec.secrets,
                popen=popen,
                status_fd=os.dup(popen.stdout.fileno()),
                status_read=rest,
            )
            return handle
        if words[0] == "claimed":
            popen.wait()
            raise AlreadyClaimed(f"{output.name} exists: this run was started before")
        message = words[1] if words[0] == "error" and len(words) > 1 else ""
        popen.wait()
        if not message:
            message = f"the step supervisor failed to start (status {popen.returncode})"
        failed = None
        with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
            failed = ProcessResult.from_json(json.loads(result.read_text(encoding="utf-8")))
        raise SpawnError(redactor.redact(message), failed)
    except TimeoutError:
        raise SpawnError("the step supervisor did not start in time") from None
    finally:
        popen.stdout.close()
        if handle is None and popen.poll() is None:
            # Cancelled or failed before we could hand out a handle: the
            # supervisor (if it spawned anything) terminates it with grace.
            with contextlib.suppress(OSError):
                cancel.write_text(f"{spec.grace!r}\n", encoding="ascii")
            with contextlib.suppress(ProcessLookupError):
                os.kill(popen.pid, signal.SIGTERM)
            _reap_later(popen)


def _reap_later(popen: subprocess.Popen[bytes]) -> None:
    """Reap a supervisor we no longer wait for, when it exits, without blocking."""
    try:
        pidfd = os.pidfd_open(popen.pid)
        loop = asyncio.get_running_loop()
    except (OSError, RuntimeError):
        return  # subprocess reaps abandoned Popen objects on its next start

    def reap() -> None:
        loop.remove_reader(pidfd)
        os.close(pidfd)
        popen.wait()

    loop.add_reader(pidfd, reap)


async def _read_status(fd: int) -> tuple[bytes, bytes]:
    """Read the supervisor's status line without blocking the event loop; return it and
    whatever came after it (a quick command's result may already be there)."""
    os.set_blocking(fd, False)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[bytes, bytes]] = loop.create_future()
    buf = bytearray()

    def on_readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        buf.extend(data)
        if (not data or b"\n" in buf) and not done.done():
            first, _, rest = bytes(buf).partition(b"\n")
            done.set_result((first, rest))

    loop.add_reader(fd, on_readable)
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT):
            return await done
    finally:
        loop.remove_reader(fd)


def reattach(
    output_path: Path,
    *,
    supervisor_pid: int,
    pid: int,
    pgid: int,
    started_wall: float,
    grace: float = 5.0,
    secrets: tuple[str, ...] = (),
) -> ProcessHandle:
    """Get a handle on a step started before a cockpit restart.

    Use the values journalled when it started. If the result file exists the
    handle is already finished; if the supervisor is gone without a result,
    :meth:`ProcessHandle.wait` reports that. The pid is only trusted if
    ``/proc`` shows a supervisor that has the output file open, so a recycled
    pid is never waited on (or signalled).
    """
    output = Path(os.path.abspath(output_path))
    result_path = result_path_for(output)
    finished: ProcessResult | None = None
    if result_path.exists() or not _is_supervisor_of(supervisor_pid, output):
        try:
            finished = ProcessResult.from_json(json.loads(result_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, AttributeError):
            finished = ProcessResult(
                None, None, False, 0.0, "the step's supervisor is gone and left no result"
            )
    return ProcessHandle(
        pid=pid,
        pgid=pgid,
        supervisor_pid=supervisor_pid,
        output_path=output,
        started_wall=started_wall,
        grace=grace,
        tag=None,
        secrets=secrets,
        result=finished,
    )


def _is_supervisor_of(supervisor_pid: int, output: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{supervisor_pid}/cmdline").read_bytes()
        if BOOT.encode() not in cmdline.split(b"\0"):
            return False
        fd_dir = f"/proc/{supervisor_pid}/fd"
        return any(os.readlink(f"{fd_dir}/{fd}") == str(output) for fd in os.listdir(fd_dir))
    except OSError:
        return False


async def attach(
    output_path: Path,
    *,
    grace: float = 5.0,
    secrets: tuple[str, ...] = (),
    wait: float = 2.0,
) -> ProcessHandle | None:
    """Find the run that owns ``output_path``: one whose supervisor created that file.

    For a cockpit that resumes after a crash: a step or rollback recorded as starting may
    have started (its supervisor had the job) before the cockpit died, without the start
    being recorded. Returns None when no run claimed the file (it does not exist): the
    command never started. Otherwise a handle: already finished when the run left its
    result, or following the supervisor still running it. A supervisor that has just
    claimed the file is given up to ``wait`` seconds to say who runs the command.
    """
    output = Path(os.path.abspath(output_path))
    try:
        info = os.lstat(output)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return _finished(output, f"cannot look at {output.name}: {exc.strerror}", secrets)
    if not stat.S_ISREG(info.st_mode):
        return _finished(
            output, f"{output.name} is not a regular file: refusing to use it", secrets
        )
    deadline = time.monotonic() + wait
    while True:
        result = _read_json(result_path_for(output))
        if result is not None:
            done = ProcessResult.from_json(result)
            return _finished(output, None, secrets, done, result)
        run = _read_json(run_path_for(output))
        supervisor = int(run.get("supervisor_pid", 0)) if run else _find_supervisor(output)
        if supervisor and _is_supervisor_of(supervisor, output) and run is not None:
            return ProcessHandle(
                pid=int(run.get("pid", 0)),
                pgid=int(run.get("pgid", 0)),
                supervisor_pid=supervisor,
                output_path=output,
                started_wall=float(run.get("started_wall", 0.0)),
                grace=grace,
                tag=None,
                secrets=secrets,
            )
        if not supervisor or not _is_supervisor_of(supervisor, output):
            if _read_json(result_path_for(output)) is not None:
                continue  # it finished while we looked
            return _finished(
                output, "its supervisor is gone and left no result; it may have run", secrets
            )
        if time.monotonic() >= deadline:  # a supervisor holds it but never said who runs
            return ProcessHandle(
                pid=0,
                pgid=0,
                supervisor_pid=supervisor,
                output_path=output,
                started_wall=time.time(),
                grace=grace,
                tag=None,
                secrets=secrets,
            )
        await asyncio.sleep(0.02)


def _finished(
    output: Path,
    error: str | None,
    secrets: tuple[str, ...],
    result: ProcessResult | None = None,
    data: Mapping[str, Any] | None = None,
) -> ProcessHandle:
    data = data or {}
    return ProcessHandle(
        pid=int(data.get("pid") or 0),
        pgid=int(data.get("pgid") or 0),
        supervisor_pid=0,
        output_path=output,
        started_wall=float(data.get("started_wall") or 0.0),
        grace=0.0,
        tag=None,
        secrets=secrets,
        result=result or ProcessResult(None, None, False, 0.0, error),
    )


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _find_supervisor(output: Path) -> int:
    """The pid of a live supervisor that has ``output`` open, or 0."""
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit() and _is_supervisor_of(int(name), output):
                return int(name)
    return 0
