"""Start and stop the demo as real processes: the service and its load generator.

Used by ``cockpit demo`` and by the tests. Both children run ``python -m cockpit`` in their
own process group with their output going to files in the state directory (a pipe nobody
reads would block them), and ``stop()`` never leaves one behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from cockpit.demo import control, state
from cockpit.demo.lifeline import PARENT_VARIABLE
from cockpit.demo.service import WARMUP_ENV

STOP_GRACE_S = 5.0
"""How long a child gets to exit after SIGTERM before it is killed."""


def cockpit_argv(*args: str) -> list[str]:
    """The argv that runs a ``cockpit`` sub-command with this interpreter."""
    return [sys.executable, "-m", "cockpit", *args]


def terminate(proc: subprocess.Popen[bytes], grace: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group of ``proc``, then SIGKILL after ``grace``; reap it."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _log_tail(path: Path, limit: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:].strip()
    except OSError:
        return ""


class ServiceProcess:
    """One ``cockpit demo-service`` child process.

    Args:
        state_dir: the demo state directory (created if missing).
        port: the port to bind on 127.0.0.1; 0 picks a free one.
        warmup: seconds of warm-up after start and each switch; None keeps the default.
    """

    def __init__(self, state_dir: Path, *, port: int = 0, warmup: float | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.port = port
        self.warmup = warmup
        self.stop_grace = STOP_GRACE_S
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.state_dir / "service.log"

    @property
    def url(self) -> str:
        """The service's base URL (no trailing slash); the port is known after ``start``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child's pid while it is started."""
        return self.proc.pid if self.proc is not None else None

    def start(self, *, timeout: float = 10.0, wait_ready: bool = True) -> None:
        """Start the service and wait until it listens (and, by default, is ready).

        Raises:
            RuntimeError: when it exits or does not come up in time; it is stopped then.
        """
        if self.proc is not None:
            raise RuntimeError("the demo service is already started")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env[PARENT_VARIABLE] = str(os.getpid())
        if self.warmup is not None:
            env[WARMUP_ENV] = repr(self.warmup)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                cockpit_argv(
                    "demo-service", "--port", str(self.port), "--state", str(self.state_dir)
                ),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env=env,
            )
        try:
            self._wait_listening(timeout)
            if wait_ready:
                self.wait_ready(timeout=timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        # The service writes service.port before service.pid: our pid there means the port is fresh.
        while state.read_int(self.state_dir / state.PID_FILE) != self.proc.pid:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the demo service exited with status {self.proc.returncode}: "
                    f"{_log_tail(self.log_path)}"
                )
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the demo service did not start within {timeout:.1f} s")
            time.sleep(0.02)
        port = state.read_int(self.state_dir / state.PORT_FILE)
        if port is None:
            raise RuntimeError(f"the demo service wrote no port to {self.state_dir}/service.port")
        self.port = port

    def wait_ready(self, *, timeout: float = 10.0, version: str | None = None) -> None:
        """Poll ``/readyz`` until it answers ready (with ``version``, if given).

        Raises:
            RuntimeError: when not ready within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        last = "no answer"
        while True:
            try:
                code, doc = control.get_json(self.port, "/readyz")
                if (
                    code == 200
                    and doc.get("ready") is True
                    and version in (None, doc.get("version"))
                ):
                    return
                last = f"{code} {doc}"
            except OSError as exc:
                last = str(exc)
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the demo service exited: {_log_tail(self.log_path)}")
            if time.monotonic() >= deadline:
                raise RuntimeError(f"the demo service was not ready within {timeout:.1f} s: {last}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; idempotent."""
        if self.proc is not None:
            terminate(self.proc, self.stop_grace)
            self.proc = None


class DemoStack:
    """The demo service plus its load generator, as real subprocesses.

    ``start()`` resets the state to ``current = previous = v1`` (v1 is the last known good
    release, so the rollback path exists before the first deploy), starts the service,
    waits until it is ready, runs one smoke test (so ``smoke-passed`` exists) and starts
    the load at ``rate`` requests/s (``rate=0``: no load).

    Args:
        state_dir: the demo state directory (created if missing).
        port: the port to bind on 127.0.0.1; 0 picks a free one (see ``port`` after start).
        rate: load in requests per second; 0 starts no load generator.
        warmup: the service's warm-up in seconds; None keeps its default (1.5 s).
    """

    def __init__(
        self, state_dir: Path, *, port: int = 0, rate: float = 40.0, warmup: float | None = None
    ) -> None:
        self.state_dir = Path(state_dir)
        self.rate = rate
        self.service = ServiceProcess(self.state_dir, port=port, warmup=warmup)
        self.load: subprocess.Popen[bytes] | None = None
        self.load_log_path = self.state_dir / "load.log"

    @property
    def port(self) -> int:
        """The service's port (known after ``start``)."""
        return self.service.port

    @property
    def url(self) -> str:
        """The service's base URL, ``http://127.0.0.1:PORT`` (known after ``start``)."""
        return self.service.url

    def start(self, *, timeout: float = 10.0) -> None:
        """Start everything; on any failure stop what was started and raise RuntimeError."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state.write_atomic(self.state_dir / state.CURRENT, "v1\n")
        state.write_atomic(self.state_dir / state.PREVIOUS, "v1\n")
        try:
            self.service.start(timeout=timeout)
            try:
                control.smoke(self.state_dir, out=io.StringIO())
            except control.ControlError as exc:
                raise RuntimeError(f"the demo smoke test failed: {exc}") from exc
            if self.rate > 0:
                with open(self.load_log_path, "ab") as log:
                    self.load = subprocess.Popen(
                        cockpit_argv(
                            "demo-load", "--url", self.url + "/", "--rate", repr(self.rate)
                        ),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=log,
                        start_new_session=True,
                        env={**os.environ, PARENT_VARIABLE: str(os.getpid())},
                    )
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the load, then the service; idempotent, never leaves a process."""
        if self.load is not None:
            terminate(self.load)
            self.load = None
        self.service.stop()

    def env(self) -> dict[str, str]:
        """The variables the demo profile needs, to merge into the cockpit's environment."""
        bin_dir = os.path.dirname(sys.executable)
        path = os.environ.get("PATH", "")
        return {
            "COCKPIT_DEMO_URL": self.url,
            "COCKPIT_DEMO_STATE": str(self.state_dir),
            "PATH": bin_dir + os.pathsep + path if path else bin_dir,
        }

    def __enter__(self) -> DemoStack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
