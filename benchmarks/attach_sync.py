"""How far apart two terminals on one session show the T+ timer: the cockpit and a terminal
joined with ``cockpit attach`` (and ``cockpit watch``), each in its own tmux pane.

The session is driven to T0 on a profile whose metric is a quick local command, then the
panes are read in turn (``tmux capture-pane``) as fast as tmux answers, for ``--seconds``.
Each time a pane's timer changes, the moment is noted; the same second's change in the
other pane gives one difference. Figures: median, p95 and largest difference, and how long
one round of reading both panes took (the figures' own resolution). Target: < 100 ms.

Usage: python benchmarks/attach_sync.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import tomli_w
from ui_common import ROOT, TmuxPane, median, percentile, print_table, verdict

COCKPIT = Path(sys.executable).parent / "cockpit"
TARGET_MS = 100.0


def profile(directory: Path) -> Path:
    """The tests' quick profile, with a metric that a local command answers at once."""
    data = tomllib.loads((ROOT / "tests" / "data" / "session" / "quick.toml").read_text())
    data["metrics"][0]["source"] = {
        "kind": "command",
        "command": ["/bin/echo", "0.1"],
        "value_regex": r"([0-9.]+)",
    }
    path = directory / "sync.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def timer_rows(screen: str) -> str:
    """The top bar's three rows: the big T+ digits live there (and nothing else moves)."""
    return "\n".join(screen.splitlines()[1:4])


def changes(panes: list[TmuxPane], seconds: float) -> tuple[list[list[float]], list[float]]:
    """For each pane, the moments its timer changed; and the time of each reading round."""
    last = [timer_rows(p.screen()) for p in panes]
    moments: list[list[float]] = [[] for _ in panes]
    rounds: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        begin = time.monotonic()
        for index, pane in enumerate(panes):
            rows = timer_rows(pane.screen())
            if rows != last[index]:
                moments[index].append(time.monotonic())
                last[index] = rows
        rounds.append(time.monotonic() - begin)
    return moments, rounds


def paired(a: list[float], b: list[float]) -> list[float]:
    """|a - b| for each change of ``a`` and the nearest change of ``b`` (within 0.5 s)."""
    out = []
    for moment in a:
        nearest = min(b, key=lambda other: abs(other - moment), default=None)
        if nearest is not None and abs(nearest - moment) < 0.5:
            out.append(abs(nearest - moment) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ck-"))
    runtime = work / "run"
    runtime.mkdir(mode=0o700)
    env = {"COCKPIT_RUNTIME_DIR": str(runtime), "TZ": "UTC"}
    sessions = work / "sessions"
    panes: list[TmuxPane] = []
    try:
        owner = TmuxPane(120, 40, name="sync-owner")
        panes.append(owner)
        owner.start(
            [str(COCKPIT), "run", str(profile(work)), "--sessions-dir", str(sessions)], env=env
        )
        owner.wait_for("BRIEFING", timeout=30)
        owner.read_back()  # the trigger time of the quick profile: 5m
        owner.wait_for("CHECKLIST", timeout=15)
        owner.keys("c")
        owner.wait_for("Operator, give your GO", timeout=60)
        owner.keys("g")
        owner.wait_for("Monitor, give your GO", timeout=15)
        owner.keys("m")
        owner.wait_for("EXECUTING", timeout=15)
        joined = TmuxPane(120, 40, name="sync-attach")
        panes.append(joined)
        joined.start([str(COCKPIT), "attach", "--role", "observer"], env=env)
        joined.wait_for("EXECUTING", timeout=30)
        [journal] = sessions.glob("*.jsonl")
        watched = TmuxPane(120, 40, name="sync-watch")
        panes.append(watched)
        watched.start([str(COCKPIT), "watch", str(journal)], env=env)
        watched.wait_for("EXECUTING", timeout=30)
        moments, rounds = changes([owner, joined, watched], args.seconds)
        attach_ms = paired(moments[0], moments[1])
        watch_ms = paired(moments[0], moments[2])
        rows = []
        for name, figures in (("cockpit ↔ attach", attach_ms), ("cockpit ↔ watch", watch_ms)):
            largest = max(figures, default=float("nan"))
            rows.append(
                [
                    f"T+ turns over, {name}",
                    f"median {median(figures):.0f} ms, p95 {percentile(figures, 95):.0f} ms,"
                    f" largest {largest:.0f} ms",
                    f"< {TARGET_MS:.0f} ms",
                    verdict(largest, TARGET_MS),
                    f"{len(figures)} seconds compared",
                ]
            )
        print_table("T+ shown by two terminals of one session", rows, area="crew")
        print(
            f"one round of reading the three panes: median {median(rounds) * 1000:.1f} ms,"
            f" largest {max(rounds) * 1000:.1f} ms (the resolution of the figures above)"
        )
    finally:
        for pane in reversed(panes):
            pane.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
