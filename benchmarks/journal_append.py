"""Benchmark the session journal: append rate and latency, and what each part costs.

Run: ``.venv/bin/python benchmarks/journal_append.py [--count N] [--dir DIR]``

Prints appends per second and p50/p99 append latency, next to the floor (the same bytes
written with a bare ``os.write`` + ``os.fsync``), the cost of the anchor file, of the
alternative design that fsyncs the anchor file too, of batching output lines, and of
verifying. Nothing is asserted: figures drift by up to 2x on a shared machine, so compare the
ratios within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from emit import Row, median, percentile, print_table, ratio, verdict

from cockpit.journal import Actor, Batcher, Journal, verify_journal
from cockpit.journal.records import GENESIS_PREV, encode_record

APPEND_TARGET = 0.5
"""Appending costs the fsync and little more: at least half the bare write+fsync rate."""
ACTOR = Actor(role="deployer", user="alice", tty="/dev/pts/3")
BODY = {
    "step": 3,
    "argv": ["./deploy.sh", "--version", "v2.4.1", "--region", "eu-west-1"],
    "pid": 41234,
    "pgid": 41234,
    "note": "canary 10% of traffic",
}


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1e3:7.3f} ms  p99 {p99 * 1e3:7.3f} ms  max {ordered[-1] * 1e3:7.3f} ms"


def _timed(count: int, action: Callable[[int], object]) -> list[float]:
    samples = []
    for n in range(count):
        start = time.perf_counter()
        action(n)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    """Run every measurement once and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000, help="appends per measurement")
    parser.add_argument("--dir", type=Path, help="where to write (default: a temp dir)")
    args = parser.parse_args()
    count: int = args.count
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        workdir = Path(tmp)
        _, line = encode_record(
            seq=1, wall=1.8e9, t_plus=1.0, actor=ACTOR, kind="step.started", body=BODY,
            prev=GENESIS_PREV,
        )  # fmt: skip
        print(f"record: {len(line)} bytes; {count} appends each; dir {workdir}")

        journal = Journal.open(workdir / "session.jsonl")
        fds = [
            os.open(workdir / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            for name in ("floor", "floor.anchors")
        ]
        anchor = b"12345 " + b"a" * 64 + b"\n"

        def journal_append(n: int) -> None:
            journal.append("step.started", BODY, actor=ACTOR, wall=1.8e9 + n, t_plus=n)

        def write_and_fsync(n: int) -> None:
            os.write(fds[0], line)
            os.fsync(fds[0])

        def plus_anchor_write(n: int) -> None:
            write_and_fsync(n)
            os.write(fds[1], anchor)

        def plus_anchor_fsync(n: int) -> None:
            plus_anchor_write(n)
            os.fsync(fds[1])

        variants: dict[str, Callable[[int], None]] = {
            "Journal.append": journal_append,
            "floor: write+fsync": write_and_fsync,
            "floor + anchor write": plus_anchor_write,
            "alt: fsync anchors too": plus_anchor_fsync,
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        rounds = 10  # interleaved, so that a noisy neighbour hits every variant alike
        for _ in range(rounds):
            for name, action in variants.items():
                samples[name].extend(_timed(count // rounds, action))
        journal.close()
        for name, taken in samples.items():
            print(f"{name:24}{len(taken) / sum(taken):8.0f}/s  {_percentiles(taken)}")
        rate = {name: len(taken) / sum(taken) for name, taken in samples.items()}
        ours, floor = samples["Journal.append"], samples["floor: write+fsync"]
        print_table(
            f"journal append, an fsync per record, {count} appends, {len(line)}-byte record",
            [
                Row(
                    "Journal.append throughput",
                    f"{rate['Journal.append']:.0f} records/s",
                    f"≥ {APPEND_TARGET:.0%} of the floor",
                    verdict(
                        rate["Journal.append"] / rate["floor: write+fsync"],
                        APPEND_TARGET,
                        higher_is_better=True,
                    ),
                    f"p99 {percentile(ours, 99) * 1e3:.2f} ms",
                    peer=f"write+fsync floor {rate['floor: write+fsync']:.0f}/s",
                    ratio=ratio(rate["Journal.append"], rate["floor: write+fsync"]),
                ),
                Row(
                    "Journal.append p50 latency",
                    f"{median(ours) * 1e3:.3f} ms",
                    "(context)",
                    "info",
                    f"the alternative fsyncing the anchors too: "
                    f"{rate['alt: fsync anchors too']:.0f}/s",
                    peer=f"floor {median(floor) * 1e3:.3f} ms",
                    ratio=ratio(median(ours), median(floor)),
                ),
            ],
            area="journal",
        )

        anchor_only = _timed(count, lambda n: os.write(fds[1], anchor))
        for fd in fds:
            os.close(fd)
        print(f"anchor os.write alone {statistics.median(anchor_only) * 1e6:9.1f} us median")

        encode = _timed(
            count,
            lambda n: encode_record(
                seq=n + 1, wall=1.8e9, t_plus=1.0, actor=ACTOR, kind="step.started", body=BODY,
                prev=GENESIS_PREV,
            ),
        )  # fmt: skip
        print(f"encode + hash alone   {statistics.median(encode) * 1e6:9.1f} us median")

        lines = 200_000
        with Journal.open(workdir / "batched.jsonl") as batched:
            batcher = Batcher(batched, "step.output", actor=ACTOR)
            start = time.perf_counter()
            for n in range(lines):
                batcher.add("stdout", f"2026-11-22T10:46:{n % 60:02d}Z INFO request {n} ok")
                if n % 2000 == 1999:  # about one flush per 100 ms at 20k lines/s
                    batcher.flush(wall=1.8e9 + n, t_plus=float(n))
            batcher.flush(wall=1.8e9 + lines, t_plus=float(lines))
            batch_elapsed = time.perf_counter() - start
            batch_records = batched.last_seq
        print(
            f"Batcher: {lines} output lines in {batch_elapsed:.2f} s"
            f" ({lines / batch_elapsed:,.0f} lines/s, {batch_records} records)"
        )

        for name in ("session.jsonl", "batched.jsonl"):
            start = time.perf_counter()
            report = verify_journal(workdir / name)
            verify_elapsed = time.perf_counter() - start
            size = (workdir / name).stat().st_size
            print(
                f"verify {name}: {report.count} records, {size / 1e6:.1f} MB"
                f" in {verify_elapsed * 1e3:.0f} ms, ok={report.ok}"
            )


if __name__ == "__main__":
    main()
