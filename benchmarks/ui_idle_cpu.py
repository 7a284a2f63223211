"""Idle CPU and resident memory of the cockpit, against glances ``-t 1`` in the same run.

The cockpit runs ``profiles/demo.toml`` (4 metrics at 1 Hz, 7 automated readiness checks
re-run every 5 s, the clock ticking) in a 120x40 tmux pane against a running demo stack, and
stays in the briefing/checklist phase; after a settling time CPU is read from
``/proc/<pid>/stat`` (utime + stime) over the window: the cockpit process alone, and with its
reaped children (the readiness checks of kind ``command`` are child processes). glances ``-t 1``,
htop and btop (each refreshing once a second) are measured the same way, in the same run.
Prints figures; asserts nothing.

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
    Row,
    TmuxPane,
    cpu_seconds,
    demo_stack,
    machine,
    peers,
    print_table,
    ratio,
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
    found, _missing = peers()
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        with Cockpit(stack, DEMO_PROFILE, Path(tmp)) as cockpit:
            cockpit.start()
            cockpit.pane.wait_for("BRIEFING", timeout=30)
            pid = cockpit.pid
            time.sleep(args.settle)
            own, with_children, rss = measure(pid, args.seconds)
            phase = "CHECKLIST" if "CHECKLIST" in cockpit.pane.screen() else "BRIEFING"
        peer_figures: dict[str, tuple[float, float]] = {}
        for peer in found:
            with TmuxPane(120, 40, name=f"{peer.name}-idle") as pane:
                pane.start(peer.argv, env=peer.env or None)
                pane.wait_for(*peer.painted, timeout=30)
                ppid = pane.program_pid()
                assert ppid is not None
                time.sleep(args.settle)
                peer_cpu, _, peer_rss = measure(ppid, args.seconds)
                peer_figures[peer.name] = (peer_cpu, peer_rss)
    gcpu, grss = peer_figures.get("glances", (float("nan"), float("nan")))
    glances_peer = "glances not installed" if "glances" not in peer_figures else ""
    rows = [
        Row(
            "cockpit idle CPU, process alone",
            f"{own:.2f} % of a core",
            f"≤ {CPU_TARGET} %",
            verdict(own, CPU_TARGET),
            f"{args.seconds:.0f} s in {phase}, 4 metrics at 1 Hz",
            peer=glances_peer or f"glances -t 1: {gcpu:.2f} %",
            ratio=ratio(own, gcpu),
        ),
        Row(
            "cockpit idle CPU, with check children",
            f"{with_children:.2f} % of a core",
            "(context)",
            "info",
            "command checks run as child processes every 5 s",
        ),
        Row(
            "cockpit resident memory",
            f"{rss:.1f} MB",
            f"≤ {RSS_TARGET:.0f} MB",
            verdict(rss, RSS_TARGET),
            peer=glances_peer or f"glances {grss:.1f} MB",
            ratio=ratio(rss, grss),
        ),
    ]
    if "glances" in peer_figures:
        rows.append(
            Row(
                "cockpit / glances idle CPU",
                ratio(own, gcpu),
                "< 0.50x",
                verdict(own / gcpu, 0.5),
                peer=f"glances -t 1: {gcpu:.2f} %",
                ratio=ratio(own, gcpu),
            )
        )
    for peer in found:
        if peer.name == "glances":
            continue
        pcpu, prss = peer_figures[peer.name]
        rows.append(
            Row(
                f"cockpit idle CPU beside {peer.name}",
                f"{own:.2f} % of a core",
                "(context)",
                "info",
                f"{peer.label}, refreshing once a second; RSS {prss:.1f} MB "
                f"(cockpit {rss / prss:.2f}x)",
                peer=f"{peer.name} {pcpu:.2f} %",
                ratio=ratio(own, pcpu),
            )
        )
    print_table("idle CPU and memory, demo profile, 120x40 tmux pane", rows, area="idle")


if __name__ == "__main__":
    main()
