"""Benchmark the demo: how fast it starts, switches, answers and what the load costs.

Run: ``.venv/bin/python benchmarks/demo_service.py [--seconds S] [--rate R]``

Prints: import time of ``cockpit.demo.service`` next to a bare ``python -c pass``; time from
spawn to listening and to ready (the warm-up is 1.5 s of it); a deploy's duration; the
latency the load generator's target sees per version (from ``/stats``); and the CPU the
service and the load generator use at the given rate (from ``/proc/<pid>/stat``). Nothing is
asserted: figures drift by up to 2x on a shared machine, so compare ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cockpit.demo import control
from cockpit.demo.stack import DemoStack, cockpit_argv


def _run_seconds(argv: list[str], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=False, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - started)
    return best


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _window(port: int) -> str:
    _, doc = control.get_json(port, "/stats")
    window = doc["window"]
    assert isinstance(window, dict)
    return (
        f"{doc['version']}: {window['requests']} requests, {window['rps']} req/s, "
        f"errors {window['error_rate_pct']} %, p99 {window['p99_ms']} ms"
    )


def main() -> None:
    """Run the benchmark and print one line per figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="load per version")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    args = parser.parse_args()

    bare = _run_seconds([sys.executable, "-c", "pass"])
    demo = _run_seconds([sys.executable, "-c", "import cockpit.demo.service"])
    cli = _run_seconds(cockpit_argv("demo-load", "--url", "http://example.com/"), runs=3)
    print(f"python -c pass            {bare * 1e3:7.1f} ms (best of 5)")
    print(f"import demo.service       {demo * 1e3:7.1f} ms")
    print(f"cockpit demo-load (reject) {cli * 1e3:6.1f} ms (CLI start to exit 2)")

    with tempfile.TemporaryDirectory(prefix="cockpit-bench-") as tmp:
        stack = DemoStack(Path(tmp) / "demo", rate=args.rate)
        started = time.perf_counter()
        stack.start()
        print(f"stack start to ready      {time.perf_counter() - started:7.2f} s (1.5 s warm-up)")
        try:
            assert stack.service.pid is not None and stack.load is not None
            pids = {"service": stack.service.pid, "load": stack.load.pid}
            cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
            time.sleep(args.seconds)  # a benchmark measures over wall time; no test waits here
            for name, pid in pids.items():
                share = (_cpu_seconds(pid) - cpu_before[name]) / args.seconds * 100
                print(f"CPU {name:<8} at {args.rate:g}/s   {share:6.1f} % of a core")
            print(_window(stack.port))
            started = time.perf_counter()
            subprocess.run(
                cockpit_argv("demo-ctl", "deploy", "v2", "--state", str(stack.state_dir)),
                check=True,
                stdout=subprocess.DEVNULL,
            )
            print(f"deploy v2 (incl. warm-up) {time.perf_counter() - started:7.2f} s")
            time.sleep(args.seconds)
            print(_window(stack.port))
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
