"""Latency from ``start_process()`` to the step's command running.

The command stamps its own start: ``date +%s.%N`` (a tiny C program) writes
its wall time into the output file. Compared in the same run with a bare
``asyncio`` spawn of the same command, since figures drift between runs.

    .venv/bin/python benchmarks/runner_spawn.py [runs]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cockpit.runner import ProcessSpec, start_process


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms   max {ordered[-1] * 1000:6.2f} ms"


async def _bench(runs: int, directory: Path) -> None:
    supervised: list[float] = []
    returned: list[float] = []
    bare: list[float] = []
    interpreter: list[float] = []
    for i in range(runs):
        out = directory / f"step-{i}.log"
        t0 = time.time()
        handle = await start_process(ProcessSpec(("date", "+%s.%N"), out))
        returned.append(time.time() - t0)
        result = await handle.wait()
        assert result.ok, result
        supervised.append(float(out.read_text()) - t0)

        t0 = time.time()
        proc = await asyncio.create_subprocess_exec(
            "date", "+%s.%N", stdout=asyncio.subprocess.PIPE, start_new_session=True
        )
        stdout, _ = await proc.communicate()
        bare.append(float(stdout) - t0)

        # The floor under any Python supervisor: start an isolated interpreter.
        t0 = time.time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-S", "-c", "import time; print(time.time())",
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, _ = await proc.communicate()
        interpreter.append(float(stdout) - t0)
    print(f"runs: {runs}")
    print(f"start_process() -> command exec'd : {_percentiles(supervised)}")
    print(f"start_process() returned          : {_percentiles(returned)}")
    print(f"bare asyncio spawn -> exec'd      : {_percentiles(bare)}")
    print(f"python -I -S startup (the floor)  : {_percentiles(interpreter)}")


def main() -> None:
    """Run the benchmark and print p50/p99."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_bench(runs, Path(tmp)))


if __name__ == "__main__":
    main()
