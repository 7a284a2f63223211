"""The rollback's supervisor, started at the very start of ``cockpit incident``.

In an incident R works from the first frame, and a person may press it the moment the frame
shows. The supervisor that will run the rollback is a Python process of its own, started
ahead (``runner.process.StandbySupervisor``); started as the first frame went out, it was
often still starting its interpreter when that R came (``benchmarks/incident.py``). Started
here instead, before the cockpit imports anything heavy, it starts on the other core while
this one imports Textual and the profile models, and is waiting long before the first frame.

Nothing but the standard library is imported here (``runner/__init__`` imports asyncio).
The supervisor needs nothing from this process but its job, which comes later on its stdin;
if this process ends first, the supervisor reads the end of its input and exits, having run
nothing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

SUPERVISOR_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner")
"""Where ``supervise.py`` is (it is started by importing it, not as a script: Python then
uses its cached bytecode, about 6 ms faster per start)."""
BOOT = (
    f"import sys; sys.path.append({SUPERVISOR_DIR!r}); import supervise; sys.exit(supervise.main())"
)


def spawn() -> subprocess.Popen[bytes]:
    """Start a supervisor that waits for its job on stdin.

    Raises:
        OSError: the interpreter could not be started.
    """
    # env={}: the supervisor needs nothing from the environment, and the command's
    # environment (secrets included) travels on the stdin pipe.
    return subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", BOOT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={},
    )


class _Early:
    popen: subprocess.Popen[bytes] | None = None


def start_early() -> None:
    """Start one supervisor now, for the first that needs one (see :func:`take_early`)."""
    if _Early.popen is None:
        with contextlib.suppress(OSError):  # then one is started when needed, as always
            _Early.popen = spawn()


def take_early() -> subprocess.Popen[bytes] | None:
    """The supervisor :func:`start_early` started, once, if it is still waiting."""
    popen, _Early.popen = _Early.popen, None
    if popen is None or popen.poll() is not None:
        return None
    return popen
