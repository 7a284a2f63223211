"""Detached supervisor for one step, with its job on stdin.

Started as ``python -I -S -c "...; import supervise; supervise.main()"`` (see
``process.py``); ``python -I -S supervise.py`` works too.

It runs in its own session, so the cockpit dying (even by SIGKILL) does not
touch it, and the command it supervises keeps a live reader on its output
pipe: the command never dies of SIGPIPE. It

1. reads the job (a ``marshal``-encoded dict; see ``process.py``) from stdin
   until EOF, so secrets and the environment never appear in any argv;
2. claims the run by creating the output file (``O_EXCL``, ``O_NOFOLLOW``): a
   run whose output file exists belongs to the supervisor that made it, so a
   cockpit resumed after a crash can ask again and a command never runs twice
   (it reports ``claimed`` and exits). If the file cannot be created (disk
   full), the command runs anyway, without its output;
3. spawns the command with ``posix_spawn`` in a new session, stdin from
   /dev/null, stdout and stderr on one pipe (their order is kept);
4. reports ``started <pid> <pgid> <wall>`` (or ``error <message>``) on
   stdout, and leaves ``<output>.run.json`` saying who runs it, for a cockpit
   that resumes;
5. streams the output through the redactor into the output file;
6. enforces the timeout and answers SIGTERM/SIGUSR1 from the cockpit with
   SIGTERM to the group and every descendant, a grace period, then SIGKILL;
7. writes the result JSON atomically (temporary file, fsync, rename), and
   also sends it as ``result <json>`` on stdout: when the disk is full the
   cockpit still learns how the command ended.

Startup is on the critical path of a rollback, so everything slow to import
(``json``, ``re``, ``signal``'s enum, ``ctypes``) is imported after the
command has been spawned; ``_signal`` is the C module behind ``signal`` and is
already loaded when Python starts.
"""

from __future__ import annotations

import marshal
import os
import sys
import time

# Not `from typing import ...`: importing typing costs ~10 ms of startup here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cockpit.runner import proctree, redact

_sig: Any = sys.modules.get("_signal") or __import__("_signal")

CHUNK = 65536
#: After the command exits, wait this long for output that background
#: processes still write before writing the result. If the pipe is still
#: open then, a forked drainer keeps copying it to the output file, so a
#: process the step left running (a service it started) never dies of SIGPIPE.
LINGER = 1.0
#: After the final SIGKILL, wait at most this long for the pipe to close.
KILL_WAIT = 2.0
_CANCEL_SIGNALS = (_sig.SIGTERM, _sig.SIGUSR1)
#: Signals whose disposition must be back to default in the command
#: (ignored ones survive exec; the rest are listed for a clean start).
_DEFAULT_IN_CHILD = (
    _sig.SIGHUP, _sig.SIGINT, _sig.SIGQUIT, _sig.SIGPIPE, _sig.SIGXFSZ, _sig.SIGTERM,
    _sig.SIGUSR1, _sig.SIGUSR2, _sig.SIGCHLD, _sig.SIGALRM, _sig.SIGTSTP, _sig.SIGTTIN,
    _sig.SIGTTOU,
)  # fmt: skip


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _resolve(command: str, env: dict[str, str]) -> str:
    """Find ``command`` on the command's own PATH (posix_spawnp would use ours)."""
    if "/" in command:
        return command
    denied = None
    for directory in env.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(directory or ".", command)
        if os.path.isfile(path):
            if os.access(path, os.X_OK):
                return path
            denied = path
    if denied is not None:
        raise PermissionError(13, "Permission denied", command)
    raise FileNotFoundError(2, "command not found", command)


class Claimed(Exception):
    """The output file exists: another supervisor owns this run."""


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _spawn_error(exc: OSError, argv0: str, cwd: str | None) -> str:
    if cwd is not None and getattr(exc, "filename", None) == cwd:
        return f"cannot use working directory {cwd}: {exc.strerror}"
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {argv0}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {argv0} is not executable"
    return f"cannot start {argv0}: {exc.strerror or exc}"


class Supervisor:
    """One supervised run; see the module docstring."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.argv: list[str] = job["argv"]
        self.env: dict[str, str] = job["env"]
        self.cwd: str | None = job.get("cwd")
        self.timeout: float | None = job.get("timeout")
        self.grace: float = float(job.get("grace", 5.0))
        self.output_path: str = job["output"]
        self.result_path: str = job["result"]
        self.cancel_path: str = job["cancel"]
        self.tag: str = job["tag"]
        self.pid = 0
        self.status: int | None = None
        self.started = 0.0
        self.started_wall = 0.0
        self.ended: float | None = None
        self.timed_out = False
        self.terminating = False
        self.kill_at: float | None = None
        self.reason: str | None = None
        self.write_error: str | None = None
        self.output_fd = -1
        self.written = 0
        self.redactor: redact.Redactor | None = None  # set after the spawn: re is slow
        self.drain: tuple[int, redact.RedactingStream] | None = None

    # -- start --------------------------------------------------------------

    def spawn(self) -> int:
        """Spawn the command; return the read end of its output pipe."""
        try:
            self.output_fd = os.open(self.output_path, _NEW_FILE | os.O_APPEND, 0o600)
        except FileExistsError:
            raise Claimed(self.output_path) from None
        except OSError as exc:
            # Disk full, read-only, I/O error: the command (a rollback!) runs all the same.
            self.output_fd = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)
            self.write_error = f"cannot create the output file: {exc.strerror}; output not kept"
        if self.cwd is not None:
            os.chdir(self.cwd)
        path = _resolve(self.argv[0], self.env)
        read_end, write_end = os.pipe()
        try:
            self.started_wall = time.time()
            self.started = time.monotonic()
            self.pid = os.posix_spawn(
                path,
                self.argv,
                self.env,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, write_end, 1),
                    (os.POSIX_SPAWN_DUP2, write_end, 2),
                ],
                setsid=True,
                setsigdef=_DEFAULT_IN_CHILD,
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        return read_end

    # -- run ----------------------------------------------------------------

    def run(self, read_end: int, wake: int) -> None:
        """Stream output, enforce the deadline, answer cancel requests, reap."""
        import select

        assert self.redactor is not None
        stream = self.redactor.stream()
        poller = select.poll()
        poller.register(read_end, select.POLLIN)
        poller.register(wake, select.POLLIN)
        pipe_open = True
        deadline = self.started + self.timeout if self.timeout is not None else None
        stop_at: float | None = None
        while True:
            waits = [t for t in (self.kill_at, stop_at) if t is not None]
            if deadline is not None and self.status is None and not self.terminating:
                waits.append(deadline)
            now = time.monotonic()
            wait_ms = max(0, int((min(waits) - now) * 1000) + 1) if waits else None
            if self.kill_at is not None and self.status is not None:
                # Poll the tree so we can finish as soon as it is gone.
                wait_ms = 50 if wait_ms is None else min(wait_ms, 50)
            for fd, _ in poller.poll(wait_ms):
                if fd == read_end:
                    data = os.read(read_end, CHUNK)
                    if data:
                        self.emit(stream.feed(data))
                    else:
                        poller.unregister(read_end)
                        pipe_open = False
                elif fd == wake:
                    self.on_signals(os.read(wake, 64))
            self.reap()
            now = time.monotonic()
            if (
                deadline is not None
                and self.status is None
                and not self.terminating
                and now >= deadline
            ):
                self.timed_out = True
                self.begin_termination(self.grace, f"timed out after {self.timeout:g} s")
            if self.kill_at is not None:
                if now >= self.kill_at:
                    self.kill_at = None
                    self.reason = f"{self.reason}; killed after {self.grace:g} s grace"
                    proctree.kill_tree(os.getpid(), self.pid, self.tag)
                    self.reap()
                elif self.status is not None and not proctree.tree(os.getpid(), self.pid, self.tag):
                    self.kill_at = None  # the whole tree left during the grace period
            if self.status is not None and self.kill_at is None:
                if not pipe_open:
                    break
                if stop_at is None:
                    stop_at = now + (KILL_WAIT if self.terminating else LINGER)
                elif now >= stop_at:
                    break
        if pipe_open and not self.terminating:
            self.drain = (read_end, stream)
            return
        self.emit(stream.finish())
        os.close(read_end)

    def drain_in_background(self) -> None:
        """Fork a drainer for a pipe that leftover processes still hold open."""
        if self.drain is None:
            return
        read_end, stream = self.drain
        if os.fork() == 0:
            try:
                null = os.open(os.devnull, os.O_WRONLY)  # the cockpit's status pipe stays ours
                os.dup2(null, 1)
                os.close(null)
                _sig.set_wakeup_fd(-1)
                for signum in (*_CANCEL_SIGNALS, _sig.SIGCHLD):
                    _sig.signal(signum, _sig.SIG_DFL)
                while data := os.read(read_end, CHUNK):
                    self.emit(stream.feed(data))
                self.emit(stream.finish())
            finally:
                os._exit(0)
        os.close(read_end)

    def emit(self, text: str) -> None:
        """Append redacted text to the output file; keep draining if the disk fails."""
        if not text or self.write_error is not None:
            return
        data = text.encode("utf-8", "replace")
        try:
            _write_all(self.output_fd, data)
            self.written += len(data)
        except OSError as exc:
            self.write_error = f"cannot write output file: {exc.strerror}"

    def on_signals(self, received: bytes) -> None:
        if any(sig in received for sig in _CANCEL_SIGNALS) and not self.terminating:
            grace = self.grace
            try:
                with open(self.cancel_path, encoding="ascii") as f:
                    grace = max(0.0, float(f.read().strip()))
            except (OSError, ValueError):
                pass
            self.begin_termination(grace, "terminated on request")

    def begin_termination(self, grace: float, reason: str) -> None:
        self.terminating = True
        self.grace = grace
        self.reason = reason
        self.kill_at = time.monotonic() + grace
        proctree.kill_tree(os.getpid(), self.pid, self.tag, _sig.SIGTERM)
        # A stopped process cannot act on SIGTERM until continued.
        proctree.kill_tree(os.getpid(), self.pid, self.tag, _sig.SIGCONT)

    def reap(self) -> None:
        """Reap the command and any orphan we adopted as subreaper."""
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.pid:
                self.status = status
                self.ended = time.monotonic()

    # -- finish -------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        status = self.status
        exit_code = signal = None
        if status is not None:
            if os.WIFEXITED(status):
                exit_code = os.WEXITSTATUS(status)
            elif os.WIFSIGNALED(status):
                signal = os.WTERMSIG(status)
        error = self.reason
        if status is None and error is None:
            error = "the command could not be waited for"
        ended = self.ended if self.ended is not None else time.monotonic()
        return {
            "exit_code": exit_code,
            "signal": signal,
            "timed_out": self.timed_out,
            "duration": round(ended - self.started, 6),
            "error": _redact_now(self.job, error) if error else None,
            # What went wrong around the command, not with it (the disk is full, say).
            "note": self.write_error,
            "pid": self.pid,
            "pgid": self.pid,
            "started_wall": self.started_wall,
            "finished_wall": time.time(),
            "output_bytes": self.written,
        }


def write_result(path: str, result: dict[str, Any]) -> None:
    """Write the result JSON atomically and durably.

    Raises:
        OSError: it could not be written (the disk is full, say).
    """
    import json

    tmp = f"{path}.tmp"
    try:  # noqa: SIM105 -- contextlib costs startup time
        os.unlink(tmp)  # left by a supervisor that died while writing; never followed
    except FileNotFoundError:
        pass
    fd = os.open(tmp, _NEW_FILE, 0o600)
    try:
        _write_all(fd, json.dumps(result, sort_keys=True).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    directory = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _report(line: str) -> None:
    """Tell the cockpit; a dead reader (EPIPE: the cockpit is gone) must not hurt us."""
    try:  # noqa: SIM105 -- contextlib costs startup time
        _write_all(1, line.encode("utf-8", "replace") + b"\n")
    except OSError:
        pass


def _leave_run_file(sup: Supervisor) -> None:
    """Say who runs this command, beside its output, for a cockpit that resumes."""
    line = (
        f'{{"supervisor_pid": {os.getpid()}, "pid": {sup.pid}, "pgid": {sup.pid}, '
        f'"started_wall": {sup.started_wall!r}}}\n'
    )
    try:
        fd = os.open(sup.output_path + ".run.json", _NEW_FILE, 0o600)
        try:
            _write_all(fd, line.encode())
        finally:
            os.close(fd)
    except OSError:
        pass  # the cockpit finds the supervisor through /proc instead


def _become_subreaper() -> None:
    """Adopt orphaned descendants (PR_SET_CHILD_SUBREAPER = 36).

    Then a descendant that called setsid and lost its parent is re-parented
    to us, not to init, and /proc's parent links still find it. It is done
    after the spawn to keep ctypes' import (~3 ms) off the critical path; the
    environment tag (see proctree) covers orphans from that first moment.
    """
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _load_helpers() -> None:
    """Import redact.py and proctree.py from this directory, off the critical path."""
    global proctree, redact  # noqa: PLW0603 -- lazy module imports, bound once
    if TYPE_CHECKING:
        from cockpit.runner import proctree, redact
    else:
        import proctree
        import redact


#: How long a supervisor waits for its job before it loads ahead what the run will need.
WARM_AFTER = 0.25


def _warm_while_idle() -> None:
    """Load ahead what a run needs after its spawn, while no job has come yet.

    A standby supervisor (``process.StandbySupervisor``) waits for its job for seconds or
    hours. Loading the helpers (``re``, ``json``) and ctypes only after the spawn took 5-10 ms
    of CPU while the rollback's first process was starting beside it on a 2-core machine
    (traced with ``benchmarks/ui_rollback_latency.py``: the child's own start went from
    about 2 ms to 4-5 ms). Here it is done while idle: nothing is loaded if the job comes
    within ``WARM_AFTER`` (a supervisor started for a job finds it already waiting, and an R
    pressed just after a standby started is not queued behind an import), and after that one
    module at a time, stopping as soon as the job is there.
    """
    import select

    pieces = ("proctree", "redact", "ctypes")
    for index, name in enumerate(pieces):
        if select.select([0], [], [], WARM_AFTER if index == 0 else 0)[0]:
            return
        __import__(name)
    _load_helpers()  # bound as globals now: all three are in sys.modules


def _redact_now(job: dict[str, Any], text: str) -> str:
    return redact.Redactor(job.get("secrets", ())).redact(text)


def main() -> int:
    """Run one job read from stdin; always leave a result file behind."""
    # Find redact.py and proctree.py next to this file, after the stdlib.
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    _sig.signal(_sig.SIGHUP, _sig.SIG_IGN)
    _sig.signal(_sig.SIGINT, _sig.SIG_IGN)
    _warm_while_idle()
    chunks = []
    while chunk := os.read(0, CHUNK):
        chunks.append(chunk)
    if not chunks:
        # A standby supervisor whose cockpit went away (or no longer needs it): no job.
        return 0
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    # marshal, not json: no import cost. The bytes come from the cockpit that
    # started us, through a pipe only it holds, for this same interpreter.
    job: dict[str, Any] = marshal.loads(b"".join(chunks))  # noqa: S302
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    _sig.set_wakeup_fd(wake_write)
    for signum in (*_CANCEL_SIGNALS, _sig.SIGCHLD):
        _sig.signal(signum, lambda signum, frame: None)

    sup = Supervisor(job)
    try:
        read_end = sup.spawn()
    except Claimed:
        _report("claimed")
        return 3
    except OSError as exc:
        _load_helpers()
        message = _redact_now(job, _spawn_error(exc, job["argv"][0], job.get("cwd")))
        if sup.output_fd >= 0:
            try:  # noqa: SIM105 -- contextlib costs startup time
                _write_all(sup.output_fd, f"cockpit: {message}\n".encode())
            except OSError:
                pass
        now = time.time()
        failed = {"exit_code": None, "signal": None, "timed_out": False, "duration": 0.0,
                  "error": message, "pid": 0, "pgid": 0, "started_wall": now,
                  "finished_wall": now, "output_bytes": 0}  # fmt: skip
        try:  # noqa: SIM105 -- contextlib costs startup time
            write_result(job["result"], failed)
        except OSError:
            pass
        _report(f"error {message}")
        return 1
    _report(f"started {sup.pid} {sup.pid} {sup.started_wall!r}")
    _leave_run_file(sup)
    _load_helpers()
    try:
        sup.redactor = redact.Redactor(job.get("secrets", ()))
        _become_subreaper()
        sup.run(read_end, wake_read)
    except BaseException as exc:  # never leave a command unsupervised
        proctree.kill_tree(os.getpid(), sup.pid, sup.tag)
        sup.reap()
        sup.reason = f"supervisor failed: {type(exc).__name__}: {exc}"
    try:  # noqa: SIM105 -- contextlib costs startup time
        os.fsync(sup.output_fd)
    except OSError:
        pass
    sup.drain_in_background()
    os.close(sup.output_fd)
    result = sup.result()
    try:
        write_result(sup.result_path, result)
    except OSError as exc:
        note = f"the result file could not be written: {exc.strerror}"
        result["note"] = f"{result['note']}; {note}" if result["note"] else note
    else:
        try:  # noqa: SIM105 -- contextlib costs startup time
            os.unlink(sup.output_path + ".run.json")  # the result says it all now
        except OSError:
            pass
    import json

    _report("result " + json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
