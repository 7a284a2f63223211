"""First paint and exit of the cockpit, against glances in the same run (PERFORMANCE.md).

First paint: from spawning ``cockpit run profiles/demo.toml`` in a detached 120x40 tmux pane
(the tmux server and the demo service are already up) to the first ``capture-pane`` that shows
the cockpit (``BRIEFING`` and ``PRODUCTION``). Exit: from ``q`` (before execution there is no
question) to the process's end. glances, htop and btop the same way (each
refreshing once a second; first screen showing their own texts; exit on ``q``), if
installed. Median of N runs. Prints figures; asserts nothing.

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
    Peer,
    Row,
    TmuxPane,
    demo_stack,
    machine,
    median,
    peers,
    print_table,
    ratio,
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


def peer_run(peer: Peer) -> tuple[float, float]:
    with TmuxPane(120, 40, name=f"{peer.name}-bench") as pane:
        pane.tmux("new-session", "-d", "-s", "keep", "sleep 3600")
        pane.started = True
        t0 = time.monotonic()
        pane.start(peer.argv, env=peer.env or None)
        paint = first_paint(pane, t0, peer.painted)
        time.sleep(1.0)
        pane.keys("q")
        return paint, wait_exit(pane)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    found, _missing = peers()
    cockpit_paint: list[float] = []
    cockpit_exit: list[float] = []
    peer_paint: dict[str, list[float]] = {p.name: [] for p in found}
    peer_exit: dict[str, list[float]] = {p.name: [] for p in found}
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        for index in range(args.runs):  # interleaved, so drift hits every program alike
            paint, quit_s = cockpit_run(stack, Path(tmp) / f"run-{index}")
            cockpit_paint.append(paint)
            cockpit_exit.append(quit_s)
            for peer in found:
                paint, quit_s = peer_run(peer)
                peer_paint[peer.name].append(paint)
                peer_exit[peer.name].append(quit_s)
    cp, ce = median(cockpit_paint), median(cockpit_exit)
    gp = median(peer_paint.get("glances", []))
    ge = median(peer_exit.get("glances", []))
    rows = [
        Row(
            "cockpit first paint (median)",
            f"{cp:.3f} s",
            f"≤ {FIRST_PAINT_TARGET} s",
            verdict(cp, FIRST_PAINT_TARGET),
            "runs: " + " ".join(f"{v:.3f}" for v in cockpit_paint),
            peer=f"glances {gp:.3f} s" if "glances" in peer_paint else "glances not installed",
            ratio=ratio(cp, gp),
        ),
        Row(
            "cockpit exit after q (median)",
            f"{ce:.3f} s",
            f"≤ {EXIT_TARGET} s",
            verdict(ce, EXIT_TARGET),
            "runs: " + " ".join(f"{v:.3f}" for v in cockpit_exit),
            peer=f"glances {ge:.3f} s" if "glances" in peer_exit else "",
            ratio=ratio(ce, ge),
        ),
    ]
    if "glances" in peer_paint:
        rows.append(
            Row(
                "cockpit first paint / glances",
                ratio(cp, gp),
                "≤ 1.00x",
                verdict(cp / gp, 1.0),
                "runs: " + " ".join(f"{v:.3f}" for v in peer_paint["glances"]),
                peer=f"glances {gp:.3f} s",
                ratio=ratio(cp, gp),
            )
        )
    for peer in found:
        if peer.name == "glances":
            continue
        pp, pe = median(peer_paint[peer.name]), median(peer_exit[peer.name])
        rows.append(
            Row(
                f"cockpit first paint beside {peer.name}",
                f"{cp:.3f} s",
                "(context)",
                "info",
                f"{peer.label}: exit {pe:.3f} s; paint runs: "
                + " ".join(f"{v:.3f}" for v in peer_paint[peer.name]),
                peer=f"{peer.name} {pp:.3f} s",
                ratio=ratio(cp, pp),
            )
        )
    print_table(f"first paint and exit, {args.runs} runs, 120x40 tmux pane", rows, area="start-up")


if __name__ == "__main__":
    main()
