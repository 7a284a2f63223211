"""Start-to-exit time of the commands that never open the screen, against ``python -c pass``.

``cockpit validate profiles/demo.toml``, ``check`` (a profile of quick local checks,
``tests/data/session/quick.toml``: its probes run too), ``verify`` and ``report`` (a journal of a
rolled-back deploy, written once beforehand), ``sessions`` (a directory holding that one
session). Each is spawned as a process, standard output to /dev/null; wall time from spawn to
exit, median of N runs, commands interleaved. None of them imports Textual
(``tests/unit/test_runner_imports.py``). Prints figures; asserts nothing.

    .venv/bin/python benchmarks/cli_start.py [--runs 11]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ui_common import (
    COCKPIT,
    DEMO_PROFILE,
    ROOT,
    compile_sources,
    machine,
    median,
    print_table,
)

QUICK_PROFILE = ROOT / "tests" / "data" / "session" / "quick.toml"


def commands(work: Path) -> dict[str, list[str]]:
    from tests.unit.test_evidence import rolled_back_session

    sessions = work / "sessions"
    sessions.mkdir(mode=0o700)
    journal = sessions / "20270115T080000Z-demo-web-abcd.jsonl"
    rolled_back_session(journal)
    cockpit = str(COCKPIT)
    return {
        "python -c pass (floor)": [sys.executable, "-c", "pass"],
        "cockpit --version": [cockpit, "--version"],
        "cockpit validate profiles/demo.toml": [cockpit, "validate", str(DEMO_PROFILE)],
        "cockpit check (quick local probes)": [cockpit, "check", str(QUICK_PROFILE)],
        "cockpit verify JOURNAL": [cockpit, "verify", str(journal)],
        "cockpit report JOURNAL": [cockpit, "report", str(journal), "--out", str(work / "out")],
        "cockpit sessions": [cockpit, "sessions", "--sessions-dir", str(sessions)],
    }


def timed(argv: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, check=False
    )
    return time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(compile_sources())
    with tempfile.TemporaryDirectory() as tmp:
        todo = commands(Path(tmp))
        times: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.runs):  # interleaved, so drift hits all alike
            for name, argv in todo.items():
                times[name].append(timed(argv))
    floor = median(times["python -c pass (floor)"])
    rows = []
    for name, values in times.items():
        m = median(values)
        rows.append(
            [
                f"{name} (median)",
                f"{m:.3f} s",
                "peer" if "floor" in name else "",
                "",
                ("" if "floor" in name else f"{m / floor:.1f}x the floor; ")
                + "runs: "
                + " ".join(f"{v:.3f}" for v in values),
            ]
        )
    print_table(f"start to exit of the commands without a screen, {args.runs} runs", rows)


if __name__ == "__main__":
    main()
