"""Run the installed ``cockpit`` command the ways a user can start it: with its output to a
pipe, closed, or to /dev/full, with or without a terminal.

Every run has a deadline and a cap on its memory, so that a regression to reading a FIFO or
/dev/zero fails the test instead of hanging it or exhausting the machine.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

COCKPIT = str(Path(sys.executable).with_name("cockpit"))
"""The console script ``pip install`` made, as a user runs it."""

MEMORY_CAP = 2 << 30
"""Address space per run: a start-up needs about 0.4 GiB; /dev/zero read whole needs it all."""

# Runs first in the child's interpreter: cap memory, arrange fd 1, then become `cockpit`.
_SHIM = """
import os, resource, sys
cap, stdout = int(sys.argv[1]), sys.argv[2]
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
if stdout == "closed":
    os.close(1)
elif stdout == "full":
    fd = os.open("/dev/full", os.O_WRONLY)
    os.dup2(fd, 1)
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""

Stdout = Literal["pipe", "closed", "full", "terminal"]


@dataclass(frozen=True)
class Outcome:
    """How one run ended."""

    status: int
    stdout: str
    stderr: str


def run_cli(
    *args: str,
    stdout: Stdout = "pipe",
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Outcome:
    """Run ``cockpit ARGS``; ``stdout="terminal"`` gives it a pty as stdin and stdout.

    Raises:
        subprocess.TimeoutExpired: it did not end within ``timeout`` seconds (it is killed).
    """
    argv = [sys.executable, "-S", "-c", _SHIM, str(MEMORY_CAP), stdout, COCKPIT, *args]
    environ = {**os.environ, "COLUMNS": "120", "LINES": "40", **(env or {})}
    if stdout != "terminal":
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environ,
            check=False,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            argv,
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            env=environ,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
    return Outcome(done.returncode, "", done.stderr)
