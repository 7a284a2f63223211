"""First paint and exit of the cockpit, against glances in the same run (PERFORMANCE.md).

First paint: from spawning ``cockpit run profiles/demo.toml`` in a detached 120x40 tmux pane
(the tmux server and the demo service are already up) to the first ``capture-pane`` that shows
the cockpit (``BRIEFING`` and ``PRODUCTION``). Warm: the first frame is in the cache
(``cockpit.first_frame``: two starts with the same arguments before the timed ones); cold: an
empty cache, as on the first start. Ready for keys: until the big clock shows, which is drawn
just after Textual's own first frame. Exit: from ``q`` (before execution there is no
question) to the process's end. glances the same way (first screen showing ``MEM`` and
``LOAD``; exit on ``q``), if installed. Runs interleaved (cold, warm, glances), median of N.
Prints figures; asserts nothing.

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
    clock_shown,
    compile_sources,
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


def cockpit_run(
    stack: object, workdir: Path, *, cache: Path | None = None, sessions: Path | None = None
) -> tuple[float, float, float]:
    """First paint, ready for keys (the clock drawn) and exit, in seconds."""
    from cockpit.demo.stack import DemoStack

    assert isinstance(stack, DemoStack)
    with Cockpit(stack, DEMO_PROFILE, workdir, cache=cache, sessions=sessions) as cockpit:
        t0 = cockpit.start()
        paint = first_paint(cockpit.pane, t0, ("BRIEFING", "PRODUCTION"))
        while not clock_shown(cockpit.pane.screen()):  # polled like the paint
            if time.monotonic() - t0 > 20:
                raise RuntimeError("no clock:\n" + cockpit.pane.screen())
        ready = time.monotonic() - t0
        time.sleep(1.0)  # let the first checks start, as a person would read first
        cockpit.pane.keys("q")
        return paint, ready, wait_exit(cockpit.pane)


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


def _runs(values: list[float]) -> str:
    return "runs: " + " ".join(f"{v:.3f}" for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(compile_sources())
    exe = glances()
    warm_paint: list[float] = []
    warm_ready: list[float] = []
    cold_paint: list[float] = []
    cold_ready: list[float] = []
    cockpit_exit: list[float] = []
    glances_paint: list[float] = []
    glances_exit: list[float] = []
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        warm = {"cache": Path(tmp) / "warm-cache", "sessions": Path(tmp) / "warm-sessions"}
        for index in range(2):  # two starts with the same key: the frame is confirmed
            cockpit_run(stack, Path(tmp) / f"prime-{index}", **warm)
        for index in range(args.runs):  # interleaved, so drift hits all alike
            paint, ready, _ = cockpit_run(stack, Path(tmp) / f"cold-{index}")
            cold_paint.append(paint)
            cold_ready.append(ready)
            paint, ready, quit_s = cockpit_run(stack, Path(tmp) / f"warm-{index}", **warm)
            warm_paint.append(paint)
            warm_ready.append(ready)
            cockpit_exit.append(quit_s)
            if exe is not None:
                paint, quit_s = glances_run(exe)
                glances_paint.append(paint)
                glances_exit.append(quit_s)
    cp, ce = median(warm_paint), median(cockpit_exit)
    cold, wr, cr = median(cold_paint), median(warm_ready), median(cold_ready)
    rows = [
        [
            "cockpit first paint (median)",
            f"{cp:.3f} s",
            f"≤ {FIRST_PAINT_TARGET} s",
            verdict(cp, FIRST_PAINT_TARGET),
            "warm: the cached frame; " + _runs(warm_paint),
        ],
        [
            "cockpit first paint, cold (median)",
            f"{cold:.3f} s",
            f"≤ {FIRST_PAINT_TARGET} s",
            verdict(cold, FIRST_PAINT_TARGET),
            "no cache (a first start): Textual's frame; " + _runs(cold_paint),
        ],
        [
            "cockpit ready for keys, warm (median)",
            f"{wr:.3f} s",
            "",
            "",
            "the clock drawn: the frame after Textual's first; " + _runs(warm_ready),
        ],
        [
            "cockpit ready for keys, cold (median)",
            f"{cr:.3f} s",
            "",
            "",
            _runs(cold_ready),
        ],
        [
            "cockpit exit after q (median)",
            f"{ce:.3f} s",
            f"≤ {EXIT_TARGET} s",
            verdict(ce, EXIT_TARGET),
            _runs(cockpit_exit),
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
                _runs(glances_paint),
            ],
            [
                "cockpit first paint / glances",
                f"{cp / gp:.2f}x",
                "≤ 1.00x",
                verdict(cp / gp, 1.0),
                "warm",
            ],
            [
                "cockpit first paint, cold / glances",
                f"{cold / gp:.2f}x",
                "≤ 1.00x",
                verdict(cold / gp, 1.0),
                "",
            ],
            [
                "cockpit ready for keys, warm / glances",
                f"{wr / gp:.2f}x",
                "",
                "",
                "",
            ],
            ["glances exit after q (median)", f"{ge:.3f} s", "peer", "", ""],
        ]
    print_table(f"first paint and exit, {args.runs} runs, 120x40 tmux pane", rows)


if __name__ == "__main__":
    main()
