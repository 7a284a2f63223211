"""``cockpit demo --incident``: the bad release goes out *outside* the cockpit.

The demo service starts on v1 under traffic; after a warm-up (a countdown on the terminal)
v2 is switched in with ``demo-ctl deploy``, as a CI pipeline would, and the error rate goes
RED. Only then does the cockpit open, in incident mode, for the crew to roll back.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import TextIO

from cockpit.demo import control
from cockpit.demo.stack import DemoStack

RED_AT = 2.0
"""The demo's error-rate threshold (percent): RED at or above it."""
PAGING = 8.0
"""Seconds between the first RED sample and the declaration (at most half the warm-up)."""


def countdown(seconds: float, words: str, out: TextIO) -> None:
    """Print ``words`` (with ``{left}``) once a second until ``seconds`` have passed; on a
    terminal the line is rewritten in place."""
    end = time.monotonic() + seconds
    in_place = out.isatty()
    while (left := end - time.monotonic()) > 0:
        line = words.format(left=f"{left:.0f}")
        print(
            f"\r{line}  " if in_place else line, end="" if in_place else "\n", file=out, flush=True
        )
        time.sleep(min(1.0, left))
    if in_place:
        print(file=out, flush=True)


def stats_error_rate(stack: DemoStack) -> float | None:
    """The service's own error rate over its last 10 s, from ``/stats`` (None: no traffic)."""
    try:
        _, doc = control.get_json(stack.port, "/stats")
    except OSError:
        return None
    window = doc.get("window")
    rate = window.get("error_rate_pct") if isinstance(window, dict) else None
    return float(rate) if isinstance(rate, int | float) else None


def play(
    stack: DemoStack,
    *,
    warmup: float,
    out: TextIO,
    error_rate: Callable[[], float | None] | None = None,
    timeout: float = 60.0,
) -> float:
    """Warm up on v1, switch to v2 outside the cockpit, wait until the error rate is RED.

    Args:
        stack: the running demo.
        warmup: seconds of v1 under traffic first (its history, before the incident).
        out: where the countdown goes.
        error_rate: how the cockpit's profile reads the error rate (default: ``/stats``).
        timeout: seconds to wait for RED once v2 is out.

    Returns:
        The error rate measured when it went RED.

    Raises:
        control.ControlError: the switch failed, or the error rate never went RED.
    """
    read = error_rate or (lambda: stats_error_rate(stack))
    countdown(warmup, "demo-web v1 serves the traffic; v2 goes out in {left} s…", out)
    print("switching demo-web to v2 outside the cockpit, as a CI pipeline would…", file=out)
    control.deploy(stack.state_dir, "v2", dry_run=False, timeout=15.0, out=io.StringIO())
    end = time.monotonic() + timeout
    while True:
        rate = read()
        if rate is not None and rate >= RED_AT:
            print(f"v2 is out and the error rate is RED ({rate:.1f} %)", file=out, flush=True)
            # As in life, the room opens the cockpit a little after the first RED sample.
            paging = min(PAGING, warmup / 2)
            countdown(
                paging, "the on-call is paged; the room declares the incident in {left} s…", out
            )
            return rate
        if time.monotonic() >= end:
            raise control.ControlError(f"the error rate did not go RED within {timeout:.0f} s")
        time.sleep(0.25)
