"""System probe: real psutil readings, instability, access denied, and a free event loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from cockpit.clock import SystemClock
from cockpit.probes import measure
from cockpit.profile.models import SystemSource, Threshold
from cockpit.sample import Sample, Status


async def system(
    resource: str, threshold: Threshold, *, timeout: float = 5.0, **fields: Any
) -> Sample:
    source = SystemSource.model_validate(
        {"kind": "system", "resource": resource, "window": "300ms", **fields}
    )
    return await measure(
        source, id=resource, threshold=threshold, unit="%", timeout=timeout, clock=SystemClock()
    )


@pytest.mark.parametrize("resource", ["cpu", "memory", "load"])
async def test_real_readings_pass_a_wide_threshold(resource: str) -> None:
    sample = await system(resource, Threshold(between=[0, 1000]), stable_within=1000)
    assert sample.status is Status.PASS, sample
    assert sample.value is not None and 0 <= sample.value <= 1000
    assert "3 readings" in sample.detail


async def test_disk_of_a_path_and_of_a_missing_path(tmp_path: Path) -> None:
    good = await system("disk", Threshold(below=100.1), path=str(tmp_path))
    missing = await system("disk", Threshold(below=100), path=str(tmp_path / "nope"))
    assert good.status is Status.PASS
    assert missing.status is Status.ERROR and "no such path" in missing.detail


async def test_a_reading_outside_the_threshold_fails_with_the_value() -> None:
    sample = await system("memory", Threshold(below=0.0001))
    assert sample.status is Status.FAIL
    assert sample.value is not None and sample.value > 0
    assert "outside < 0.0001 %" in sample.detail


async def test_unstable_readings_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([10.0, 50.0, 20.0])

    class Memory:
        def __init__(self) -> None:
            self.total = 8 << 30
            self.percent = next(readings)

    monkeypatch.setattr(psutil, "virtual_memory", Memory)
    sample = await system("memory", Threshold(below=60), stable_within=15)
    assert sample.status is Status.FAIL
    assert "not stable" in sample.detail and "spread 40" in sample.detail
    assert sample.value == 20.0


async def test_access_denied_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied() -> None:
        raise psutil.AccessDenied(pid=1)

    monkeypatch.setattr(psutil, "cpu_times", denied)
    sample = await system("cpu", Threshold(below=60))
    assert sample.status is Status.ERROR and "access denied" in sample.detail


async def test_readings_spread_over_the_window_without_blocking_the_loop() -> None:
    gaps: list[float] = []

    async def ticker() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    sample = await system("cpu", Threshold(below=101), samples=4, window="400ms")
    elapsed = time.monotonic() - started
    task.cancel()
    assert sample.status in (Status.PASS, Status.FAIL)
    assert "4 readings" in sample.detail or "readings" in sample.detail
    assert 0.38 <= elapsed < 2.0
    assert len(gaps) >= 10
    assert max(gaps) < 0.2, f"the event loop was blocked for {max(gaps):.3f}s"


async def test_a_window_longer_than_the_deadline_is_an_error() -> None:
    sample = await system("memory", Threshold(below=100), window="5s", timeout=0.3)
    assert sample.status is Status.ERROR and "deadline" in sample.detail


# A crafted /proc read by the real psutil (psutil.PROCFS_PATH is its documented setting for
# a procfs elsewhere): what a container's or a broken kernel's /proc can hold.
MEMINFO = (
    "MemTotal: {total} kB\nMemFree: 0 kB\nMemAvailable: 0 kB\nBuffers: 0 kB\nCached: 0 kB\n"
    "Shmem: 0 kB\nActive: 0 kB\nInactive: 0 kB\n"
)
CRAFTED_PROC: list[tuple[str, str, str, str]] = [
    ("cpu", "stat", "cpu  nan 0 100 200 0 0 0 0 0 0\n", "cpu: a reading is NaN, not a number"),
    ("cpu", "stat", "cpu  inf 0 100 200 0 0 0 0 0 0\n", "cpu: a reading is NaN, not a number"),
    (
        "cpu",
        "stat",
        "cpu  100 0 100 200 0 0 0 0 0 0\n",  # the same counters at every reading
        "cpu: the CPU time counters did not advance",
    ),
    (
        "memory",
        "meminfo",
        MEMINFO.format(total="0"),
        "memory: the OS reports no memory at all",
    ),
    (
        "memory",
        "meminfo",
        MEMINFO.format(total="nan"),
        "memory: the OS's figures are not numbers",
    ),
]


@pytest.mark.parametrize(
    ("resource", "name", "content", "detail"),
    CRAFTED_PROC,
    ids=[f"{c[0]}: {c[2].split(chr(10))[0]}" for c in CRAFTED_PROC],
)
async def test_figures_from_proc_that_measure_nothing_are_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    resource: str,
    name: str,
    content: str,
    detail: str,
) -> None:
    (tmp_path / name).write_text(content)
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(tmp_path))
    sample = await system(resource, Threshold(below=60), stable_within=100)
    assert sample.status is Status.ERROR, sample
    assert detail in sample.detail, sample.detail
    assert "probe failed" not in sample.detail and "Error" not in sample.detail
