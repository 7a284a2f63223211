"""Short command checks (probes): run, capture bounded redacted output, clean up."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets as secrets_module
import signal
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cockpit.runner import proctree
from cockpit.runner.redact import Redactor

_CHUNK = 65536
#: After the command exits, how long to wait for output still held by
#: something it left behind before giving up on the pipes.
_LINGER = 0.5


@dataclass(frozen=True)
class CommandResult:
    """How a command check ended.

    Attributes:
        exit_code: Exit status, negative for a signal (asyncio's convention), or
            ``None`` if it never ran or was still running at the deadline.
        stdout: Redacted standard output, at most ``max_output`` characters
            plus a truncation note.
        stderr: Redacted standard error, bounded the same way.
        timed_out: Whether the deadline expired.
        duration: Seconds from start to end.
        error: Why it did not produce an exit status (redacted), or ``None``.
    """

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    error: str | None

    @property
    def ok(self) -> bool:
        """True only for a clean exit with status 0."""
        return self.exit_code == 0


async def _collect(reader: asyncio.StreamReader, redactor: Redactor, limit: int) -> str:
    """Read to EOF; keep at most ``limit`` redacted characters, drain the rest."""
    stream = redactor.stream()
    kept: list[str] = []
    size = 0
    dropped = 0

    def keep(text: str) -> None:
        nonlocal size, dropped
        room = limit - size
        if room > 0:
            kept.append(text[:room])
            size += min(room, len(text))
        dropped += max(0, len(text) - max(room, 0))

    try:
        while data := await reader.read(_CHUNK):
            keep(stream.feed(data))
    finally:
        # Also on cancellation: what arrived so far is returned redacted.
        keep(stream.finish())
    if dropped:
        kept.append(f"\n[... {dropped} more characters not kept]")
    return "".join(kept)


async def run_command(
    argv: Sequence[str],
    *,
    shell: bool = False,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float,
    secrets: Iterable[str] = (),
    max_output: int = 1_000_000,
) -> CommandResult:
    """Run a short command check and return its redacted, bounded output.

    The command runs in a new session with stdin from /dev/null. On timeout,
    cancellation or any error, the process group, the descendants and anything
    carrying the run's environment tag are SIGKILLed and the child is reaped.
    Failures are values (``error``), never exceptions, except cancellation,
    which propagates after the cleanup.
    """
    redactor = Redactor(secrets)
    started = time.monotonic()

    def failed(message: str, *, timed_out: bool = False) -> CommandResult:
        return CommandResult(
            None, "", "", timed_out, time.monotonic() - started, redactor.redact(message)
        )

    if shell:
        if len(argv) != 1 or not argv[0].strip():
            return failed("a shell command needs exactly one non-empty command string")
        args = ["/bin/sh", "-c", argv[0]]
    else:
        args = list(argv)
        if not args or not args[0]:
            return failed("empty command")
    if redactor and any(redactor.redact(arg) != arg for arg in args):
        return failed("a secret value appears in the command line; pass it in the environment")
    tag = secrets_module.token_hex(8)
    child_env = {**os.environ, **(env or {}), proctree.TAG_VARIABLE: tag}
    # The spawn runs in its own task so that a cancellation arriving mid-spawn
    # cannot lose a process that was created: we still get it and kill it.
    spawn = asyncio.ensure_future(
        asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=child_env,
            cwd=cwd,
            start_new_session=True,
        )
    )
    proc: asyncio.subprocess.Process | None = None
    readers: list[asyncio.Task[str]] = []
    cleaned = False
    try:
        try:
            proc = await asyncio.shield(spawn)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                proc = await spawn
            raise
        except OSError as exc:
            if cwd is not None and exc.filename is not None and str(exc.filename) == str(cwd):
                return failed(f"cannot use working directory {cwd}: {exc.strerror}")
            if isinstance(exc, FileNotFoundError):
                return failed(f"command not found: {args[0]}")
            if isinstance(exc, PermissionError):
                return failed(f"permission denied: {args[0]}")
            return failed(f"cannot start {args[0]}: {exc.strerror or exc}")
        assert proc.stdout is not None
        assert proc.stderr is not None
        readers = [
            asyncio.ensure_future(_collect(proc.stdout, redactor, max_output)),
            asyncio.ensure_future(_collect(proc.stderr, redactor, max_output)),
        ]
        timed_out = False
        try:
            async with asyncio.timeout(timeout):
                await _exited(proc)
        except TimeoutError:
            timed_out = True
        clean = False
        if not timed_out:
            # Output still held by a leftover process: give it a moment, no more.
            _, pending = await asyncio.wait(readers, timeout=_LINGER)
            clean = not pending
        if clean:
            proctree.signal_group(proc.pid, signal.SIGKILL)  # cheap: no /proc scan
        else:
            proctree.kill_tree(proc.pid, proc.pid, tag)
        cleaned = True
        async with asyncio.timeout(5.0):
            await _exited(proc)
        # Every writer is dead, so the pipes reach EOF; bound the wait anyway.
        _, pending = await asyncio.wait(readers, timeout=1.0)
        for reader in pending:
            reader.cancel()
        stdout, stderr = (
            "" if r in pending or r.cancelled() or r.exception() else r.result() for r in readers
        )
        return CommandResult(
            exit_code=None if timed_out else proc.returncode,
            stdout=stdout,
            stderr=stderr,
            timed_out=timed_out,
            duration=time.monotonic() - started,
            error=f"timed out after {timeout:g} s" if timed_out else None,
        )
    finally:
        for reader in readers:
            reader.cancel()
        if proc is None:
            spawn.add_done_callback(lambda task: _kill_spawned(task, tag))
        elif not cleaned:
            proctree.kill_tree(proc.pid, proc.pid, tag)
            # Reap it (asyncio's child watcher does the waitpid); a second
            # cancellation here only skips the wait: the kill has been sent.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await _exited(proc)


async def _exited(proc: asyncio.subprocess.Process) -> int:
    """Wait until the child has exited and been reaped; return its status.

    Not ``proc.wait()``: in Python 3.11 it returns only once every pipe is
    closed, so a leftover grandchild holding stdout would make a finished
    check look hung. A pidfd tells us when the child exits; asyncio's child
    watcher then reaps it and sets ``returncode`` a moment later.
    """
    if proc.returncode is not None:
        return proc.returncode
    try:
        pidfd: int | None = os.pidfd_open(proc.pid)
    except OSError:  # already reaped (returncode is on its way) or no pidfd support
        pidfd = None
    if pidfd is not None:
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()

        def on_exit() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(pidfd, on_exit)
        try:
            await exited
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    while (code := _returncode(proc)) is None:
        await asyncio.sleep(0.002)
    return code


def _returncode(proc: asyncio.subprocess.Process) -> int | None:
    # A call, not an attribute read, so the type checker does not assume
    # that the value stays what it was before the await.
    return proc.returncode


def _kill_spawned(task: asyncio.Future[asyncio.subprocess.Process], tag: str) -> None:
    if task.cancelled() or task.exception() is not None:
        return
    pid = task.result().pid
    proctree.kill_tree(pid, pid, tag)
