"""The probe scheduler: ticks without drift, skips instead of queueing, bounded concurrency,
and a hung endpoint that delays nobody else."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from cockpit.clock import FakeClock, SystemClock
from cockpit.probes import ProbeScheduler
from cockpit.profile.models import Metric
from cockpit.sample import Sample, Status
from tests.unit.test_probe_fakeserver import FakeServer


def metric(id: str, source: dict[str, Any], **fields: Any) -> Metric:
    return Metric.model_validate(
        {
            "id": id,
            "title": id,
            "source": source,
            "threshold": {"below": 1_000_000},
            "interval": "1s",
            "staleness": "1h",
            **fields,
        }
    )


# A source that measures instantly and touches nothing: an empty environment catalog.
INSTANT = {"kind": "env_catalog", "declared": []}


class FakeSleeper:
    """Sleeps that move a fake clock instead of waiting: every sleep overshoots by
    ``late`` seconds, as a busy event loop does, and one sleep can stall for longer."""

    def __init__(self, clock: FakeClock, late: float, stall_at: int = -1, stall: float = 0.0):
        self.clock = clock
        self.late = late
        self.stall_at = stall_at
        self.stall = stall
        self.calls = 0

    async def __call__(self, delay: float) -> None:
        self.calls += 1
        extra = self.stall if self.calls == self.stall_at else self.late
        for _ in range(3):  # let the sample tasks started at this tick run first
            await asyncio.sleep(0)
        self.clock.advance(delay + extra)


async def run_until(scheduler: ProbeScheduler, done: asyncio.Event, timeout: float) -> None:
    task = asyncio.create_task(scheduler.run())
    try:
        async with asyncio.timeout(timeout):
            await done.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_ticks_do_not_drift_when_every_wake_up_is_late() -> None:
    clock = FakeClock()
    start_wall = clock.wall()
    sleeper = FakeSleeper(clock, late=0.013)
    times: list[float] = []
    done = asyncio.Event()

    def on_sample(sample: Sample) -> None:
        times.append(sample.measured_at - start_wall)
        if len(times) == 1000:
            done.set()

    scheduler = ProbeScheduler([metric("m", INSTANT)], on_sample, clock=clock, sleep=sleeper)
    await run_until(scheduler, done, timeout=20)
    # Tick k is measured at k + 0.013 s: lateness does not accumulate (a loop that slept
    # `interval` after each sample would be 13 s behind after 1000 ticks).
    for k, t in enumerate(times[:1000]):
        assert abs(t - (k + (0.013 if k else 0.0))) < 1e-6, (k, t)


async def test_a_stall_skips_missed_ticks_instead_of_bursting() -> None:
    clock = FakeClock()
    start_wall = clock.wall()
    sleeper = FakeSleeper(clock, late=0.0, stall_at=5, stall=3.5)
    times: list[float] = []
    done = asyncio.Event()

    def on_sample(sample: Sample) -> None:
        times.append(round(sample.measured_at - start_wall, 6))
        if len(times) == 10:
            done.set()

    scheduler = ProbeScheduler([metric("m", INSTANT)], on_sample, clock=clock, sleep=sleeper)
    await run_until(scheduler, done, timeout=10)
    # The fifth sleep (to tick 5) woke at 8.5 s: ticks 6, 7 and 8 are gone, not run in a burst.
    assert times[:10] == [0, 1, 2, 3, 4, 8.5, 9, 10, 11, 12]


async def test_real_loop_keeps_the_tick_count() -> None:
    times: list[float] = []
    done = asyncio.Event()
    started = time.monotonic()

    def on_sample(sample: Sample) -> None:
        times.append(time.monotonic() - started)
        if len(times) == 30:
            done.set()

    fast = metric("m", INSTANT, interval="50ms", staleness="1s")
    await run_until(ProbeScheduler([fast], on_sample, clock=SystemClock()), done, timeout=10)
    # 30 ticks are due at 0, 0.05, ... 1.45 s; tolerate a busy machine, not drift.
    assert times[-1] < 1.45 + 0.25
    late = [t - k * 0.05 for k, t in enumerate(times)]
    assert max(late[-5:]) < 0.25, late


async def test_a_hung_endpoint_does_not_delay_the_others() -> None:
    async with FakeServer() as server:
        server.hang("/hang")
        server.text("/fast", "ok")
        hung = metric(
            "hung",
            {"kind": "http", "url": server.url + "/hang"},
            interval="100ms",
            timeout="500ms",
        )
        fast = metric("fast", {"kind": "http", "url": server.url + "/fast"}, interval="100ms")
        samples: dict[str, list[tuple[float, Sample]]] = {"hung": [], "fast": []}
        done = asyncio.Event()
        started = time.monotonic()

        def on_sample(sample: Sample) -> None:
            samples[sample.id].append((time.monotonic() - started, sample))
            if samples["hung"] and len(samples["fast"]) >= 12:
                done.set()

        scheduler = ProbeScheduler([hung, fast], on_sample, clock=SystemClock())
        await run_until(scheduler, done, timeout=10)
    fast_times = [t for t, _ in samples["fast"]]
    assert all(s.status is Status.PASS for _, s in samples["fast"])
    gaps = [b - a for a, b in itertools.pairwise(fast_times)]
    assert max(gaps) < 0.3, gaps
    first_hung_time, first_hung = samples["hung"][0]
    assert first_hung.status is Status.ERROR and "deadline" in first_hung.detail
    assert 0.45 < first_hung_time < 1.5
    # Ticks that came while the hung sample ran were skipped, not queued.
    assert scheduler.skipped["hung"] >= 3
    assert scheduler.started["hung"] <= 3


async def test_concurrency_is_bounded() -> None:
    async with FakeServer() as server:
        server.json("/slow", {"v": 1}, delay=0.2)
        metrics = [
            metric(f"m{i}", {"kind": "http", "url": server.url + "/slow"}, interval="100ms")
            for i in range(8)
        ]
        received: list[Sample] = []
        done = asyncio.Event()

        def on_sample(sample: Sample) -> None:
            received.append(sample)
            if len(received) >= 12:
                done.set()

        scheduler = ProbeScheduler(metrics, on_sample, clock=SystemClock(), max_concurrency=3)
        await run_until(scheduler, done, timeout=10)
        assert server.max_in_flight == 3
    assert all(s.status is Status.PASS for s in received)


async def test_a_failing_consumer_does_not_stop_the_probes() -> None:
    clock = FakeClock()
    calls: list[str] = []
    done = asyncio.Event()

    def on_sample(sample: Sample) -> None:
        calls.append(sample.id)
        if len(calls) == 3:
            done.set()
        raise RuntimeError("consumer bug")

    scheduler = ProbeScheduler(
        [metric("m", INSTANT)], on_sample, clock=clock, sleep=FakeSleeper(clock, late=0)
    )
    await run_until(scheduler, done, timeout=5)
    assert calls == ["m", "m", "m"]
