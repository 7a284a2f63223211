"""First paint and exit of the cockpit, against glances in the same run (PERFORMANCE.md).

First paint: from spawning ``cockpit run profiles/demo.toml`` in a detached 120x40 tmux pane
(the tmux server and the demo service are already up) to the first ``capture-pane`` that shows
the cockpit (``BRIEFING`` and ``PRODUCTION``). Warm: the first frame is in the cache
(``cockpit.first_frame``: two starts with the same arguments before the timed ones); cold: an
empty cache, as on the first start. Ready for keys: until the big clock shows, which is drawn
just after Textual's own first frame. Exit: from ``q`` (before execution there is no
question) to the process's end. glances, htop and btop the same way (each refreshing once a
second; first screen showing their own texts; exit on ``q``), if installed. Runs interleaved
(cold, warm, peers), median of N.
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
    Peer,
    Row,
    TmuxPane,
    clock_shown,
    compile_sources,
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
    print(compile_sources())
    found, _missing = peers()
    warm_paint: list[float] = []
    warm_ready: list[float] = []
    cold_paint: list[float] = []
    cold_ready: list[float] = []
    cockpit_exit: list[float] = []
    peer_paint: dict[str, list[float]] = {p.name: [] for p in found}
    peer_exit: dict[str, list[float]] = {p.name: [] for p in found}
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        warm = {"cache": Path(tmp) / "warm-cache", "sessions": Path(tmp) / "warm-sessions"}
        for index in range(2):  # two starts with the same key: the frame is confirmed
            cockpit_run(stack, Path(tmp) / f"prime-{index}", **warm)
        for index in range(args.runs):  # interleaved, so drift hits every program alike
            paint, ready, _ = cockpit_run(stack, Path(tmp) / f"cold-{index}")
            cold_paint.append(paint)
            cold_ready.append(ready)
            paint, ready, quit_s = cockpit_run(stack, Path(tmp) / f"warm-{index}", **warm)
            warm_paint.append(paint)
            warm_ready.append(ready)
            cockpit_exit.append(quit_s)
            for peer in found:
                paint, quit_s = peer_run(peer)
                peer_paint[peer.name].append(paint)
                peer_exit[peer.name].append(quit_s)
    cp, ce = median(warm_paint), median(cockpit_exit)
    cold, wr, cr = median(cold_paint), median(warm_ready), median(cold_ready)
    gp = median(peer_paint.get("glances", []))
    ge = median(peer_exit.get("glances", []))
    glances_shown = "glances" in peer_paint
    rows = [
        Row(
            "cockpit first paint, warm (median)",
            f"{cp:.3f} s",
            f"≤ {FIRST_PAINT_TARGET} s",
            verdict(cp, FIRST_PAINT_TARGET),
            "the cached first frame; runs: " + _runs(warm_paint),
            peer=f"glances {gp:.3f} s" if glances_shown else "glances not installed",
            ratio=ratio(cp, gp),
        ),
        Row(
            "cockpit first paint, cold (median)",
            f"{cold:.3f} s",
            f"≤ {FIRST_PAINT_TARGET} s",
            verdict(cold, FIRST_PAINT_TARGET),
            "no cache (a first start): Textual's frame; runs: " + _runs(cold_paint),
            peer=f"glances {gp:.3f} s" if glances_shown else "glances not installed",
            ratio=ratio(cold, gp),
        ),
        Row(
            "cockpit ready for keys, warm (median)",
            f"{wr:.3f} s",
            "(context)",
            "info",
            "the clock drawn: the frame after Textual's first; runs: " + _runs(warm_ready),
            peer=f"glances {gp:.3f} s" if glances_shown else "",
            ratio=ratio(wr, gp),
        ),
        Row(
            "cockpit ready for keys, cold (median)",
            f"{cr:.3f} s",
            "(context)",
            "info",
            "runs: " + _runs(cold_ready),
            peer=f"glances {gp:.3f} s" if glances_shown else "",
            ratio=ratio(cr, gp),
        ),
        Row(
            "cockpit exit after q (median)",
            f"{ce:.3f} s",
            f"≤ {EXIT_TARGET} s",
            verdict(ce, EXIT_TARGET),
            "runs: " + _runs(cockpit_exit),
            peer=f"glances {ge:.3f} s" if "glances" in peer_exit else "",
            ratio=ratio(ce, ge),
        ),
    ]
    if "glances" in peer_paint:
        rows.append(
            Row(
                "cockpit first paint, warm / glances",
                ratio(cp, gp),
                "≤ 1.00x",
                verdict(cp / gp, 1.0),
                "glances runs: " + _runs(peer_paint["glances"]),
                peer=f"glances {gp:.3f} s",
                ratio=ratio(cp, gp),
            )
        )
        rows.append(
            Row(
                "cockpit first paint, cold / glances",
                ratio(cold, gp),
                "≤ 1.00x",
                verdict(cold / gp, 1.0),
                "a first start: no cached frame",
                peer=f"glances {gp:.3f} s",
                ratio=ratio(cold, gp),
            )
        )
    for peer in found:
        if peer.name == "glances":
            continue
        pp, pe = median(peer_paint[peer.name]), median(peer_exit[peer.name])
        rows.append(
            Row(
                f"cockpit first paint (warm) beside {peer.name}",
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


def _runs(values: list[float]) -> str:
    return " ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()
