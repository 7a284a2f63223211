"""The cockpit's cost as the profile grows: 8, 16, 32 and 64 metrics (the supported maximum).

For each size N a profile is generated from the demo profile with N metrics (HTTP JSON
values of the demo service, sampled at 1 Hz), N automated readiness checks (HTTP, re-run
every 10 s) and N steps, each capped at the supported maximum of its kind
(``cockpit.profile.models``: MAX_METRICS, MAX_CHECKS, MAX_STEPS). The cockpit runs it in a
120x40 tmux pane against a running demo stack and stays in the briefing/checklist phase:

* first paint: spawn → the first screen showing ``BRIEFING`` and ``PRODUCTION``;
* resident memory (VmRSS) and idle CPU (utime + stime of the cockpit alone) over a window,
  after a settling time;
* key latency: ``h`` (stamped before ``tmux send-keys``) → the HOLD dialog on screen, and
  ``Escape`` → the dialog gone; the median and the worst of several presses.

Each figure is also printed as a curve with its growth per doubling (``emit.print_curve``).
``--sizes`` measures other sizes (a size above a maximum is capped at it: ``cockpit run``
refuses more). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/ui_scale.py [--sizes 8,16,32,64] [--seconds 15] [--presses 5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from ui_common import (
    DEMO_PROFILE,
    Cockpit,
    Row,
    TmuxPane,
    cpu_seconds,
    demo_stack,
    machine,
    median,
    print_curve,
    print_table,
    rss_mb,
)

from cockpit.profile.models import MAX_CHECKS, MAX_METRICS, MAX_STEPS


def write_scaled(path: Path, size: int) -> Path:
    """The demo profile with ``size`` metrics, checks and steps (each up to its maximum)."""
    data: dict[str, Any] = tomllib.loads(DEMO_PROFILE.read_text())
    metrics = min(size, MAX_METRICS)
    checks = min(size, MAX_CHECKS)
    steps = min(size, MAX_STEPS)
    url = "${var:COCKPIT_DEMO_URL}/stats"
    data["metrics"] = [
        {
            "id": f"m-{i:03d}",
            "title": f"Error rate, replica {i:03d}",
            "unit": "%",
            "threshold": {"below": 50},
            "interval": "1s",
            "staleness": "5s",
            "source": {"kind": "http", "url": url, "json_path": "window.error_rate_pct"},
        }
        for i in range(metrics)
    ]
    data["checks"] = [
        {
            "id": f"c-{i:03d}",
            "title": f"Monitoring live, replica {i:03d}",
            "purpose": "monitoring",
            "source": {"kind": "http", "url": url, "json_path": "window.rps"},
        }
        for i in range(checks)
    ]
    data["stages"][0]["steps"] = [
        {
            "id": f"s-{i:03d}",
            "title": f"Deploy replica {i:03d}",
            "command": ["true"],
            "timeout": "1m",
            "stop_point": ["m-000"],
        }
        for i in range(steps)
    ]
    first = [m["id"] for m in data["metrics"][:3]]
    data["rollback"]["verify"] = {"metrics": first, "within": "45s"}
    data["health"] = {"duration": "30s"}
    path.write_text(tomli_w.dumps(data))
    return path


def first_paint(pane: TmuxPane, t0: float, timeout: float = 60.0) -> float:
    while True:
        screen = pane.screen()
        if "BRIEFING" in screen and "PRODUCTION" in screen:
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise RuntimeError("no first paint:\n" + screen)
        time.sleep(0.002)


def key_to_screen(pane: TmuxPane, key: str, shown: bool, timeout: float = 60.0) -> float:
    """Seconds from sending ``key`` until the HOLD dialog is ``shown`` (or gone)."""
    t0 = time.monotonic()
    pane.keys(key)
    while ("why are we stopping" in pane.screen()) != shown:
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"{key!r}: the screen did not change:\n{pane.screen()}")
        time.sleep(0.002)
    return time.monotonic() - t0


def one_size(stack: Any, workdir: Path, size: int, seconds: float, presses: int) -> Figures:
    """One cockpit on a profile of ``size``: its figures."""
    workdir.mkdir(parents=True)
    profile = write_scaled(workdir / f"scaled-{size}.toml", size)
    with Cockpit(stack, profile, workdir) as cockpit:
        t0 = cockpit.start()
        paint = first_paint(cockpit.pane, t0)
        pid = cockpit.pid
        time.sleep(5.0)  # the first samples and checks arrive, as a person reads
        cpu0, w0 = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        cpu1, w1 = cpu_seconds(pid), time.monotonic()
        rss = rss_mb(pid)
        keys: list[float] = []
        for _ in range(presses):
            keys.append(key_to_screen(cockpit.pane, "h", shown=True))
            keys.append(key_to_screen(cockpit.pane, "Escape", shown=False))
            time.sleep(0.3)
        screen = cockpit.pane.screen()
    rows = sum(1 for line in screen.splitlines() if "< 50 %" in line)  # each metric row
    cpu = 100 * (cpu1 - cpu0) / (w1 - w0)
    return Figures(paint, rss, cpu, keys, rows)


@dataclass
class Figures:
    """What one run of one size measured."""

    paint: float
    rss: float
    cpu: float
    keys: list[float]
    rows: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default=f"8,16,32,{MAX_METRICS}")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--presses", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="runs per size, interleaved")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    print(f"supported maximum: {MAX_METRICS} metrics, {MAX_CHECKS} checks, {MAX_STEPS} steps")
    runs: dict[int, list[Figures]] = {size: [] for size in sizes}
    with demo_stack() as stack, tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        for index in range(args.rounds):  # interleaved, so drift hits every size alike
            for size in sizes:
                workdir = Path(tmp) / f"run-{index}-{size}"
                runs[size].append(one_size(stack, workdir, size, args.seconds, args.presses))
    rows = []
    for size, figures in runs.items():
        keys = [k for f in figures for k in f.keys]
        on_screen = min(f.rows for f in figures)
        label = f"{min(size, MAX_METRICS)}/{min(size, MAX_CHECKS)}/{min(size, MAX_STEPS)}"
        rows.append(
            Row(
                f"{label} metrics/checks/steps: key h → dialog, median",
                f"{median(keys) * 1000:.0f} ms",
                "(context)",
                "info",
                f"worst {max(keys) * 1000:.0f} ms; first paint "
                f"{median([f.paint for f in figures]):.2f} s; {on_screen} metric rows on screen",
            )
        )
    print_table(
        f"cost by profile size: 120x40 tmux pane, median of {args.rounds} runs, "
        f"idle CPU over {args.seconds:.0f} s, {args.presses} presses of h and Escape per run",
        rows,
        area="scale",
    )
    points = sorted(runs.items())
    labels = [f"{min(n, MAX_METRICS)}" + (" (max)" if n >= MAX_METRICS else "") for n, _ in points]
    curves: list[tuple[str, str, Callable[[Figures], float]]] = [
        ("idle CPU of the cockpit", "% of a core", lambda f: f.cpu),
        ("resident memory of the cockpit", "MB", lambda f: f.rss),
        ("first paint of the cockpit", "s", lambda f: f.paint),
    ]
    for name, unit, pick in curves:
        print_curve(
            f"{name} by number of metrics",
            "metrics",
            unit,
            [(min(n, MAX_METRICS), median([pick(f) for f in figures])) for n, figures in points],
            labels=labels,
            area="scale",
            note=f"checks and steps grow with them up to {MAX_CHECKS} and {MAX_STEPS}",
        )


if __name__ == "__main__":
    main()
