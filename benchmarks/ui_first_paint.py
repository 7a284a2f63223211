"""First paint and exit of the cockpit, against glances in the same run (PERFORMANCE.md).

First paint: from spawning ``cockpit run profiles/demo.toml`` in a detached 120x40 tmux pane
(the tmux server and the demo service are already up) to the first ``capture-pane`` that shows
the cockpit (``BRIEFING`` and ``PRODUCTION``). Exit: from ``q`` (before execution there is no
question) to the process's end. glances the same way (first screen showing ``MEM`` and
``LOAD``; exit on ``q``), if installed. Median of N runs. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/ui_first_paint.py [--runs 7]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from ui_common import (
    DEMO_PROFILE,
    Cockpit,
    TmuxPane,
    demo_stack,
    glances,
    machine,
    median,
    print_table,
    verdict,
)

FIRST_PAINT_TARGET = 0.35
EXIT_TARGET = 0.3


def wait_exit(pane: TmuxPane, timeout: float = 10.0) -> float:
    """Seconds until the pane's program has ended (its status written)."""
    t0 = time.monotonic()
    while pane.exit_status() is None:
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("did not exit:\n" + pane.screen())
        time.sleep(0.001)
    return time.monotonic() - t0


def first_paint(pane: TmuxPane, t0: float, texts: tuple[str, ...], timeout: float = 20) -> float:
    while True:
        screen = pane.screen()
        if all(t in screen for t in texts):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"{texts} not on the screen:\n{screen}")


def cockpit_run(stack: object, workdir: Path) -> tuple[float, float]:
    from cockpit.demo.stack import DemoStack

    assert isinstance(stack, DemoStack)
    with Cockpit(stack, DEMO_PROFILE, workdir) as cockpit:
        t0 = cockpit.start()
        paint = first_paint(cockpit.pane, t0, ("BRIEFING", "PRODUCTION"))
        time.sleep(1.0)  # let the first checks start, as a person would read first
        cockpit.pane.keys("q")
        return paint, wait_exit(cockpit.pane)


def glances_run(exe: str) -> tuple[float, float]:
    with TmuxPane(120, 40, name="glances-bench") as pane:
        pane.tmux("new-session", "-d", "-s", "keep", "sleep 3600")
        pane.started = True
        t0 = time.monotonic()
        pane.start([exe, "-t", "1"])
        paint = first_paint(pane, t0, ("MEM", "LOAD"))
        time.sleep(1.0)
        pane.keys("q")
        return paint, wait_exit(pane)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    exe = glances()
    cockpit_paint: list[float] = []
    cockpit_exit: list[float] = []
    glances_paint: list[float] = []
    glances_exit: list[float] = []
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        for index in range(args.runs):  # interleaved, so drift hits both alike
            paint, quit_s = cockpit_run(stack, Path(tmp) / f"run-{index}")
            cockpit_paint.append(paint)
            cockpit_exit.append(quit_s)
            if exe is not None:
                paint, quit_s = glances_run(exe)
                glances_paint.append(paint)
                glances_exit.append(quit_s)
    cp, ce = median(cockpit_paint), median(cockpit_exit)
    rows = [
        [
            "cockpit first paint (median)",
            f"{cp:.3f} s",
            f"≤ {FIRST_PAINT_TARGET} s",
            verdict(cp, FIRST_PAINT_TARGET),
            "runs: " + " ".join(f"{v:.3f}" for v in cockpit_paint),
        ],
        [
            "cockpit exit after q (median)",
            f"{ce:.3f} s",
            f"≤ {EXIT_TARGET} s",
            verdict(ce, EXIT_TARGET),
            "runs: " + " ".join(f"{v:.3f}" for v in cockpit_exit),
        ],
    ]
    if exe is None:
        print("glances is not installed (pip install glances into /tmp/glances-venv): no peer")
    else:
        gp, ge = median(glances_paint), median(glances_exit)
        rows += [
            [
                "glances -t 1 first paint (median)",
                f"{gp:.3f} s",
                "peer",
                "",
                "runs: " + " ".join(f"{v:.3f}" for v in glances_paint),
            ],
            [
                "cockpit first paint / glances",
                f"{cp / gp:.2f}x",
                "≤ 1.00x",
                verdict(cp / gp, 1.0),
                "",
            ],
            ["glances exit after q (median)", f"{ge:.3f} s", "peer", "", ""],
        ]
    print_table(f"first paint and exit, {args.runs} runs, 120x40 tmux pane", rows)


if __name__ == "__main__":
    main()
