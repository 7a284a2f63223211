"""A writer killed with SIGKILL at random moments never loses a record it reported durable."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cockpit
from cockpit.journal import Journal, Record, read_journal, verify_journal

WRITER = Path(__file__).resolve().parents[1] / "support" / "journal_writer.py"
SRC_DIR = Path(cockpit.__file__).resolve().parents[1]
LANES = 4
KILLS_PER_LANE = 55  # 220 kills in all
RUNS_PER_JOURNAL = 11  # then a fresh journal, so files stay small and creation is hit too


@dataclass
class LaneResult:
    kills: int = 0
    torn_tails: int = 0
    durable_records: int = 0
    killed_before_ready: int = 0
    failures: list[str] = field(default_factory=list)


def _kill_writer(journal_path: Path, rng: random.Random, result: LaneResult) -> dict[int, str]:
    """Start a writer, SIGKILL it at a random moment, return what it reported durable."""
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(WRITER), str(SRC_DIR), str(journal_path), "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    # The delay only picks where the kill lands; the assertions hold wherever it lands.
    if rng.random() < 0.2:
        time.sleep(rng.uniform(0.0, 0.05))  # often during start-up, open or repair
        result.killed_before_ready += 1
    else:
        ready = proc.stdout.readline()
        if not ready.startswith(b"ready"):
            proc.kill()
            proc.wait()
            result.failures.append(f"writer did not start: {proc.stderr.read().decode()}")
            return {}
        time.sleep(rng.uniform(0.0, 0.008))
    proc.kill()
    output = proc.stdout.read()
    errors = proc.stderr.read()
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    if b"Traceback" in errors:
        result.failures.append(f"writer crashed on its own: {errors.decode()}")
    reported: dict[int, str] = {}
    for line in output.splitlines():
        if line and not line.startswith(b"ready"):
            seq, digest = line.split()
            reported[int(seq)] = digest.decode()
    return reported


def _run_lane(tmp_path: Path, lane: int) -> LaneResult:
    rng = random.Random(1000 + lane)
    result = LaneResult()
    durable: dict[int, str] = {}
    journal_path = tmp_path
    for kill in range(KILLS_PER_LANE):
        if kill % RUNS_PER_JOURNAL == 0:
            journal_path = tmp_path / f"lane{lane}-{kill}.jsonl"
            durable = {}
        durable.update(_kill_writer(journal_path, rng, result))
        result.kills += 1
        if not journal_path.exists():
            if durable:
                result.failures.append(f"{journal_path.name}: gone after kill {kill}")
            continue
        report = verify_journal(journal_path)
        if not report.ok and not report.torn_tail:
            result.failures.append(f"{journal_path.name} kill {kill}: damaged: {report}")
            continue
        # Read-only first: every reported record is there even before any repair.
        records = read_journal(journal_path, allow_torn_tail=True)
        lost = [s for s, h in durable.items() if s > len(records) or records[s - 1].hash != h]
        if lost:
            result.failures.append(f"{journal_path.name} kill {kill}: lost {lost[:5]}")
        result.torn_tails += report.torn_tail
        # Every other time the test repairs; otherwise the next writer does, and may be killed
        # in the middle of it.
        if kill % 2 == 0:
            kept: list[Record] = []
            with Journal.open(journal_path, on_record=kept.append) as journal:
                if (journal.repaired_from is not None) != report.torn_tail:
                    result.failures.append(f"{journal_path.name} kill {kill}: repair mismatch")
                if [r.hash for r in kept] != [r.hash for r in records]:
                    result.failures.append(f"{journal_path.name} kill {kill}: repair lost records")
            after = verify_journal(journal_path)
            if not after.ok or after.anchored != after.count:
                result.failures.append(f"{journal_path.name} kill {kill}: after repair {after}")
    result.durable_records = len(durable)
    return result


def test_sigkill_at_random_moments_never_loses_a_reported_record(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=LANES) as pool:
        results = list(pool.map(lambda lane: _run_lane(tmp_path, lane), range(LANES)))
    failures = [failure for result in results for failure in result.failures]
    assert failures == []
    assert sum(r.kills for r in results) >= 200
    # The kills must have landed while records were being written, not only before.
    assert sum(r.durable_records for r in results) > 0
    print(
        f"kills={sum(r.kills for r in results)}"
        f" torn_tails={sum(r.torn_tails for r in results)}"
        f" killed_before_ready={sum(r.killed_before_ready for r in results)}"
    )
