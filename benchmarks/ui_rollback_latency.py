"""Key ``R`` to rollback process started, idle and under a 200k-line output flood.

A copy of the demo profile (in a temporary directory) whose rollback command is
``/bin/sh -c 'date +%s.%N > STAMP'``: the child writes its own wall time first thing. The step
is a long ``sleep`` (idle variant) or a program that prints 200k lines and then sleeps (flood
variant: R is pressed while the screen is still catching up with the output, and all probes
run). Each run is a new cockpit session driven by keys to EXECUTING with the step started;
``time.time()`` is stamped just before ``tmux send-keys R``. The CPU readiness check is left out
of the copy (it measures the whole shared machine, not the cockpit). Prints figures; asserts
nothing.

    .venv/bin/python benchmarks/ui_rollback_latency.py [--runs 10] [--variant idle|flood|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from ui_common import (
    Cockpit,
    Row,
    TmuxPane,
    demo_stack,
    machine,
    median,
    percentile,
    poll,
    print_table,
    ratio,
    read_stamp,
    verdict,
    write_profile,
)

FLOOD_LINES = 200_000
FLOOD = (
    # The words on screen are joined at run time: the command itself is shown on screen too.
    "import sys, time\n"
    "out = sys.stdout\n"
    "word = 'flood' + ' line'\n"
    "for i in range({n}):\n"
    "    out.write(f'{{word}} {{i:06d}} of the step output, some words to read\\n')\n"
    "out.write('FLOOD-END-' + 'MARKER\\n'); out.flush()\n"
    "time.sleep(600)\n"
)


def one_run(stack: object, workdir: Path, flood: bool) -> float:
    """Seconds from the R key to the rollback child's own stamp."""
    from cockpit.demo.stack import DemoStack

    assert isinstance(stack, DemoStack)
    workdir.mkdir(parents=True)
    stamp = workdir / "rollback.stamp"
    step = (
        [sys.executable, "-c", FLOOD.format(n=FLOOD_LINES)]
        if flood
        else ["/bin/sh", "-c", "echo step started; exec sleep 600"]
    )
    profile = write_profile(
        workdir / "profile.toml",
        step_command=step,
        rollback_command=["/bin/sh", "-c", 'date +%s.%N > "$1"', "sh", str(stamp)],
        drop_cpu_check=True,
    )
    with Cockpit(stack, profile, workdir) as cockpit:
        cockpit.start()
        from ui_common import drive_to_step_started

        drive_to_step_started(cockpit.pane)
        if flood:
            cockpit.pane.wait_for("flood line", timeout=15)
        else:
            cockpit.pane.wait_for("step started", timeout=15)
        pressed = time.time()
        cockpit.pane.keys("R")
        child = poll(lambda: read_stamp(stamp), timeout=10)
        if child is None:
            raise RuntimeError("the rollback never stamped:\n" + cockpit.pane.screen())
        if flood and "FLOOD-END-MARKER" in cockpit.pane.screen():
            print("  (warning: the flood was already shown when R was pressed)")
        return child - pressed


FLOOR = (
    'stty raw -echo; echo ready; dd bs=1 count=1 of=/dev/null 2>/dev/null; exec date +%s.%N > "$1"'
)


def floor_run(workdir: Path) -> float:
    """The floor under R: ``tmux send-keys`` → a shell in the pane reads the key and execs
    ``date +%s.%N`` (no cockpit); seconds from the key to the child's own stamp."""
    workdir.mkdir(parents=True)
    stamp = workdir / "floor.stamp"
    with TmuxPane(120, 40, name="rollback-floor") as pane:
        pane.tmux("new-session", "-d", "-s", "keep", "sleep 3600")
        pane.started = True
        pane.start(["/bin/sh", "-c", FLOOR, "sh", str(stamp)])
        pane.wait_for("ready", timeout=15)
        time.sleep(0.2)  # the shell has moved on from echo to the read
        pressed = time.time()
        pane.keys("R")
        child = poll(lambda: read_stamp(stamp), timeout=10)
        if child is None:
            raise RuntimeError("the floor never stamped:\n" + pane.screen())
        return child - pressed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--variant", choices=["idle", "flood", "both"], default="both")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    results: dict[str, list[float]] = {"idle": [], "flood": [], "floor": []}
    variants = ["idle", "flood"] if args.variant == "both" else [args.variant]
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        for index in range(args.runs):
            for variant in variants:
                latency = one_run(stack, Path(tmp) / f"{variant}-{index}", variant == "flood")
                results[variant].append(latency)
                print(f"  run {index + 1} {variant}: {1000 * latency:.1f} ms", flush=True)
            for extra in range(2):  # the floor is cheap: twice per round, for its p99
                latency = floor_run(Path(tmp) / f"floor-{index}-{extra}")
                results["floor"].append(latency)
                print(f"  run {index + 1} floor: {1000 * latency:.1f} ms", flush=True)
    floor = results["floor"]
    floor_median, floor_p99 = median(floor), percentile(floor, 99)
    rows = [
        Row(
            "floor: send-keys → sh reads the key, execs date",
            f"median {1000 * floor_median:.1f} ms, p99 {1000 * floor_p99:.1f} ms",
            "peer",
            "info",
            f"{len(floor)} runs, no cockpit",
        )
    ]
    if results["idle"]:
        idle = results["idle"]
        rows.append(
            Row(
                "R → rollback started, idle, median",
                f"{1000 * median(idle):.1f} ms",
                "≤ 10 ms",
                verdict(median(idle), 0.010),
                f"max {1000 * max(idle):.1f} ms, {len(idle)} runs",
                peer=f"floor median {1000 * floor_median:.1f} ms",
                ratio=ratio(median(idle), floor_median),
            )
        )
    if results["flood"]:
        flood = results["flood"]
        p99 = percentile(flood, 99)
        rows.append(
            Row(
                "R → rollback started, 200k-line flood + probes, p99",
                f"{1000 * p99:.1f} ms",
                "≤ 30 ms",
                verdict(p99, 0.030),
                f"median {1000 * median(flood):.1f} ms, {len(flood)} runs (p99 = max)",
                peer=f"floor p99 {1000 * floor_p99:.1f} ms",
                ratio=ratio(p99, floor_p99),
            )
        )
    print_table("key R to the rollback child's own stamp (120x40 tmux pane)", rows, area="rollback")


if __name__ == "__main__":
    main()
