"""200k lines of step output: how long until the last one is on screen, and does the UI stall.

A copy of the demo profile whose step writes its own ``time.time()`` to a file first thing,
then prints 200k lines (about 12 MB) and a final marker, then sleeps. Driven by keys to the
step, the benchmark polls ``capture-pane`` until the marker is on screen: step start → last
line shown. Meanwhile it measures how fast the UI answers a key: ``h`` opens the HOLD dialog
(``HOLD: why are we stopping?``), Escape closes it; key → dialog on screen, repeatedly during
the flood and again once it is over (idle, same screen). The raw floor is the same program
printing straight into a tmux pane of the same size. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/ui_log_flood.py
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

from ui_common import (
    Cockpit,
    TmuxPane,
    demo_stack,
    drive_to_step_started,
    machine,
    median,
    poll,
    print_table,
    read_stamp,
    rss_mb,
    verdict,
    write_profile,
)

LINES = 200_000
FLOOD = (
    "import sys, time\n"
    "open(sys.argv[1], 'w').write(repr(time.time()))\n"
    "out = sys.stdout\n"
    "word = 'flood' + ' line'\n"
    "for i in range({n}):\n"
    "    out.write(f'{{word}} {{i:06d}} of the step output, some words to read\\n')\n"
    "out.write('FLOOD-END-' + 'MARKER\\n'); out.flush()\n"
    "time.sleep({sleep})\n"
)
MARKER = "FLOOD-END-MARKER"
SHOW_TARGET = 1.5
STALL_TARGET = 0.050


def key_response(pane: TmuxPane) -> float:
    """Seconds from ``h`` to the HOLD dialog on screen (then closed with Escape)."""
    t0 = time.monotonic()
    pane.keys("h")
    pane.wait_until(lambda s: "HOLD: why" in s, timeout=20, what="the HOLD dialog")
    elapsed = time.monotonic() - t0
    pane.keys("Escape")
    pane.wait_until(lambda s: "HOLD: why" not in s, timeout=20, what="the dialog closed")
    return elapsed


def raw_floor(workdir: Path) -> float:
    """The same flood printed straight into a 120x40 tmux pane: start → marker on screen."""
    stamp = workdir / "raw.stamp"
    with TmuxPane(120, 40, name="flood-raw") as pane:
        pane.tmux("new-session", "-d", "-s", "keep", "sleep 3600")
        pane.started = True
        pane.start([sys.executable, "-c", FLOOD.format(n=LINES, sleep=30), str(stamp)])
        pane.wait_for(MARKER, timeout=120)
        seen = time.time()
        started = read_stamp(stamp)
        assert started is not None
        return seen - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--timeout", type=float, default=60.0, help="give up on the last line")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        stamp = work / "step.stamp"
        profile = write_profile(
            work / "profile.toml",
            step_command=[
                sys.executable,
                "-c",
                FLOOD.format(n=args.lines, sleep=600),
                str(stamp),
            ],
            rollback_command=["/bin/true"],
            drop_cpu_check=True,
        )
        with Cockpit(stack, profile, work) as cockpit:
            pane = cockpit.pane
            cockpit.start()
            drive_to_step_started(pane)
            started = poll(lambda: read_stamp(stamp), timeout=10)
            assert started is not None, "the step never stamped"
            during: list[float] = []
            shown_at: float | None = None
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                if MARKER in pane.screen():
                    shown_at = time.time()
                    break
                during.append(key_response(pane))
            numbers = re.findall(r"flood line (\d+)", pane.screen())
            last_seen = numbers[-1] if numbers else "none"
            # Also poll without pressing keys once the marker is near: the dialog hides nothing
            # of the output pane's last line, but each probe takes a few ms of tmux.
            rss_after = rss_mb(cockpit.pid)
            idle = [key_response(pane) for _ in range(10)]
        floor = raw_floor(work)
    shown = float("nan") if shown_at is None else shown_at - started
    shown_text = f"{shown:.2f} s" if shown_at is not None else f"not in {args.timeout:.0f} s"
    worst = max(during) if during else float("nan")
    rows = [
        [
            f"{args.lines} lines: step start → last line on screen",
            shown_text,
            f"≤ {SHOW_TARGET} s",
            "MISS" if shown_at is None else verdict(shown, SHOW_TARGET),
            f"raw floor (straight into tmux): {floor:.2f} s; last line seen: {last_seen}",
        ],
        [
            "key h → dialog on screen during the flood, max",
            f"{1000 * worst:.0f} ms",
            f"stall ≤ {1000 * STALL_TARGET:.0f} ms",
            verdict(worst - median(idle), STALL_TARGET),
            f"median {1000 * median(during):.0f} ms over {len(during)} presses; "
            f"idle median {1000 * median(idle):.0f} ms, max {1000 * max(idle):.0f} ms",
        ],
        ["cockpit resident memory after the flood", f"{rss_after:.1f} MB", "≤ 60 MB", ""],
    ]
    rows[2][3] = verdict(rss_after, 60)
    print_table(
        "log flood, 120x40 tmux pane (stall verdict: max during - idle median)", rows, area="flood"
    )


if __name__ == "__main__":
    main()
