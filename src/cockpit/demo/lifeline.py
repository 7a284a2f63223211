"""Tie a demo process's life to the cockpit that started it.

The demo service and its load generator are started by ``cockpit demo``; if that cockpit dies
without cleaning up (its terminal closed, SIGKILL), they must not live on as orphans. Linux
delivers a signal to a child when its parent dies if the child asks for it (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import os
import signal

PARENT_VARIABLE = "COCKPIT_DEMO_PARENT"
"""Set by the starter to its pid; a process that sees it ties itself to that parent."""
_PR_SET_PDEATHSIG = 1


def tie_to_parent() -> None:
    """Ask for SIGTERM when the starter dies; exit at once if it is already gone."""
    expected = os.environ.get(PARENT_VARIABLE)
    if not expected or not expected.isdigit():
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return  # not Linux: the starter's own stop() remains the way out
    if os.getppid() != int(expected):
        # The starter died before the request above took effect.
        os.kill(os.getpid(), signal.SIGTERM)
