"""Idle CPU and resident memory of the cockpit, against glances ``-t 1`` in the same run.

The cockpit runs ``profiles/demo.toml`` (4 metrics at 1 Hz, 7 automated readiness checks
re-run every 5 s, the clock ticking) in a 120x40 tmux pane against a running demo stack, and
stays in the briefing/checklist phase; after a settling time CPU is read from
``/proc/<pid>/stat`` (utime + stime) over the window: the cockpit process alone, and with its
reaped children (the readiness checks of kind ``command`` are child processes). glances ``-t 1``
is measured the same way, in the same run, right after. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/ui_idle_cpu.py [--seconds 30] [--settle 5]
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
    cpu_seconds,
    demo_stack,
    glances,
    machine,
    print_table,
    rss_mb,
    verdict,
)

CPU_TARGET = 1.0
RSS_TARGET = 60.0


def measure(pid: int, seconds: float) -> tuple[float, float, float]:
    """(% of a core alone, % with reaped children, RSS MB at the end) over ``seconds``."""
    own0, all0, t0 = cpu_seconds(pid), cpu_seconds(pid, children=True), time.monotonic()
    time.sleep(seconds)
    own1, all1, t1 = cpu_seconds(pid), cpu_seconds(pid, children=True), time.monotonic()
    wall = t1 - t0
    return 100 * (own1 - own0) / wall, 100 * (all1 - all0) / wall, rss_mb(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=5.0)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        with Cockpit(stack, DEMO_PROFILE, Path(tmp)) as cockpit:
            cockpit.start()
            cockpit.pane.wait_for("BRIEFING", timeout=30)
            pid = cockpit.pid
            time.sleep(args.settle)
            own, with_children, rss = measure(pid, args.seconds)
            phase = "CHECKLIST" if "CHECKLIST" in cockpit.pane.screen() else "BRIEFING"
        glances_cpu = glances_rss = float("nan")
        exe = glances()
        if exe is not None:
            with TmuxPane(120, 40, name="glances-idle") as pane:
                pane.start([exe, "-t", "1"])
                pane.wait_for("MEM", "LOAD", timeout=30)
                gpid = pane.program_pid()
                assert gpid is not None
                time.sleep(args.settle)
                glances_cpu, _, glances_rss = measure(gpid, args.seconds)
    rows = [
        [
            "cockpit idle CPU, process alone",
            f"{own:.2f} % of a core",
            f"≤ {CPU_TARGET} %",
            verdict(own, CPU_TARGET),
            f"{args.seconds:.0f} s in {phase}, 4 metrics at 1 Hz",
        ],
        [
            "cockpit idle CPU, with check children",
            f"{with_children:.2f} % of a core",
            "(context)",
            "",
            "command checks run as child processes every 5 s",
        ],
        ["cockpit resident memory", f"{rss:.1f} MB", f"≤ {RSS_TARGET:.0f} MB", verdict(rss, 60)],
    ]
    if exe is None:
        print("glances is not installed (pip install glances into /tmp/glances-venv): no peer")
    else:
        rows += [
            ["glances -t 1 idle CPU", f"{glances_cpu:.2f} % of a core", "peer", "", ""],
            [
                "cockpit / glances CPU",
                f"{own / glances_cpu:.2f}x",
                "< 0.50x",
                verdict(own / glances_cpu, 0.5),
                "",
            ],
            ["glances resident memory", f"{glances_rss:.1f} MB", "peer", "", ""],
        ]
    print_table("idle CPU and memory, demo profile, 120x40 tmux pane", rows)


if __name__ == "__main__":
    main()
