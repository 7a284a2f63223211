"""The cost of a second of samples in the health window, as the number of metrics grows.

Each size runs the real ``Session`` (engine, ``Recorder``, ``Batcher``, ``Journal`` with its
fsync) on a fake clock, taken to its health window with every metric judged (the profile of
``journal_long.py``), then feeds seconds of samples as the probes and the clock loop do: a
sample of every metric, a tick and a flush. Printed per size: the CPU (``process_time``, so
the fsync's wait is not counted) per second of session, as a share of one core at 1 Hz, and
per sample. Per-sample cost flat across the sizes means cost linear in the number of metrics.
The screen is not in it (``ui_scale.py`` measures the whole cockpit).

    .venv/bin/python benchmarks/session_scale.py [--sizes 8,16,32,64] [--seconds 300]

Nothing is asserted: figures drift up to 2x on a shared machine; compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from pathlib import Path

from emit import print_curve
from journal_long import LongSession

from cockpit.profile.models import MAX_METRICS


async def _measure(work: Path, metrics: int, seconds: int) -> tuple[float, float]:
    """CPU seconds per second of session, and per sample."""
    long = LongSession(work, metrics)
    session = await long.start()
    for _ in range(30):  # settle: every counter past its pass count
        long.one_second()
    gc.collect()
    gc.freeze()  # as the cockpit does after its start
    start = time.process_time()
    for _ in range(seconds):
        long.one_second()
    cpu = time.process_time() - start
    await session.close()
    return cpu / seconds, cpu / seconds / metrics


def main() -> None:
    """Measure each size, interleaved over two rounds; print the better round of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=f"8,16,32,{MAX_METRICS}")
    parser.add_argument("--seconds", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    best: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as d:
        for _ in range(args.rounds):
            for metrics in sizes:
                figures = asyncio.run(_measure(Path(d) / f"m{metrics}", metrics, args.seconds))
                if metrics not in best or figures[0] < best[metrics][0]:
                    best[metrics] = figures
    first = sizes[0]
    print(f"health window, every metric judged, {args.seconds} s of session per size")
    print("metrics  CPU per second  share of a core  per sample  per sample vs the smallest")
    for metrics in sizes:
        per_second, per_sample = best[metrics]
        ratio = per_sample / best[first][1]
        print(
            f"{metrics:7d}  {per_second * 1e3:11.2f} ms  {per_second * 100:14.2f} %"
            f"  {per_sample * 1e6:7.1f} µs  {ratio:6.2f}x"
        )
    print_curve(
        "the session's CPU per second of health window by number of metrics",
        "metrics",
        "ms",
        [(metrics, best[metrics][0] * 1e3) for metrics in sizes],
        area="scale",
        note="engine, recorder and journal with its fsync; no screen; every metric judged at 1 Hz",
    )


if __name__ == "__main__":
    main()
