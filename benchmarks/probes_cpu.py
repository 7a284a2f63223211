"""CPU cost of probing: 200 HTTP metrics at 1 Hz for ~10 s through the ProbeScheduler.

The server runs in a separate process (a keep-alive HTTP/1.1 server on 127.0.0.1), so
the figure is the probing process alone, read from ``resource.getrusage`` over the run.
Target: under 10 % of one core. Prints the figure; asserts nothing.

    .venv/bin/python benchmarks/probes_cpu.py [--probes 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import resource
import subprocess
import sys
import time

from emit import Row, print_table, ratio, verdict

from cockpit.clock import SystemClock
from cockpit.probes import ProbeScheduler
from cockpit.profile.models import Metric
from cockpit.sample import Sample

CPU_TARGET = 10.0

SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real services answer
    disable_nagle_algorithm = True  # as they do (nginx's tcp_nodelay is on by default)

    def do_GET(self):
        body = b'{"window": {"p99_ms": 12.5}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def bench(port: int, probes: int, seconds: float, concurrency: int = 16) -> None:
    metrics = [
        Metric.model_validate(
            {
                "id": f"m{i}",
                "title": f"probe {i}",
                "unit": "ms",
                "threshold": {"below": 250},
                "interval": "1s",
                "staleness": "5s",
                "source": {
                    "kind": "http",
                    "url": f"http://127.0.0.1:{port}/stats",
                    "json_path": "window.p99_ms",
                },
            }
        )
        for i in range(probes)
    ]
    statuses: collections.Counter[str] = collections.Counter()

    def on_sample(sample: Sample) -> None:
        statuses[sample.status.value] += 1

    scheduler = ProbeScheduler(metrics, on_sample, clock=SystemClock(), max_concurrency=concurrency)
    task = asyncio.create_task(scheduler.run())
    await asyncio.sleep(2.0)  # warm-up: connections opened, first samples taken
    warm = sum(statuses.values())
    cpu0, wall0 = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu1, wall1 = cpu_seconds(), time.monotonic()
    taken = sum(statuses.values()) - warm
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    pct = 100.0 * (cpu1 - cpu0) / (wall1 - wall0)
    per_sample_ms = 1000.0 * (cpu1 - cpu0) / max(taken, 1)
    floor_ms = await httpx_floor(f"http://127.0.0.1:{port}/stats")
    print(f"probes: {probes} at 1 Hz for {wall1 - wall0:.1f} s; samples {taken} ({dict(statuses)})")
    print(f"skipped ticks: {sum(scheduler.skipped.values())}")
    print(f"CPU of the probing process: {pct:.1f} % of one core (target < 10 %)")
    print(
        f"CPU per sample: {per_sample_ms:.2f} ms; a bare httpx GET in the same run: "
        f"{floor_ms:.2f} ms, i.e. {floor_ms * probes / 10:.1f} % of a core at {probes}/s"
    )
    floor_pct = floor_ms * probes / 10
    print_table(
        f"probe scheduler: {probes} HTTP metrics at 1 Hz against a local keep-alive server",
        [
            Row(
                f"CPU of the probing process at {probes} probes/s",
                f"{pct:.1f} % of a core",
                f"< {CPU_TARGET:.0f} %",
                verdict(pct, CPU_TARGET),
                f"{taken} samples in {wall1 - wall0:.1f} s, "
                f"{sum(scheduler.skipped.values())} ticks skipped",
                peer=f"bare httpx GETs {floor_pct:.1f} %",
                ratio=ratio(pct, floor_pct),
            ),
            Row(
                "CPU per sample",
                f"{per_sample_ms:.2f} ms",
                "(context)",
                "info",
                peer=f"bare httpx GET {floor_ms:.2f} ms",
                ratio=ratio(per_sample_ms, floor_ms),
            ),
        ],
        area="probes",
    )


async def httpx_floor(url: str, requests: int = 500) -> float:
    """CPU milliseconds of one bare keep-alive ``httpx`` GET: the floor under every probe."""
    import httpx

    async with httpx.AsyncClient(trust_env=False) as client:
        for _ in range(20):
            await client.get(url)
        start = cpu_seconds()
        for _ in range(requests):
            await client.get(url)
        return 1000.0 * (cpu_seconds() - start) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16, help="max_concurrency")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        asyncio.run(bench(port, args.probes, args.seconds, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
