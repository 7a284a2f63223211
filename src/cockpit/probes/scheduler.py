"""The probe scheduler: every stop-point metric sampled at its interval, without drift.

Each metric has its own loop. Tick ``k`` of a metric is due at ``start + k * interval`` on
the monotonic clock, so a late wake-up never shifts the ticks after it. A tick that comes
while the previous sample of the same metric is still running is skipped, never queued: a
hung endpoint yields one ERROR per timeout, not a growing backlog. Ticks missed because the
event loop was blocked are skipped too, so the scheduler never bursts to catch up.

Samples run as their own tasks, at most ``max_concurrency`` at a time, each with its own
deadline (the metric's timeout, counted from when it gets a slot), so a slow endpoint only
delays its own metric.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence

from cockpit.clock import Clock
from cockpit.probes.base import HttpClients
from cockpit.probes.measure import sample_metric_with
from cockpit.profile.models import Metric
from cockpit.sample import Sample, Status

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class ProbeScheduler:
    """Samples metrics at their intervals and hands every sample to ``on_sample``.

    Args:
        metrics: The metrics to sample.
        on_sample: Called in the event loop with each sample as it completes; an exception
            it raises is reported to ``on_fault`` and does not stop the probes.
        on_fault: Told of every exception in a pass, with the metric's id: a probe that raised
            instead of returning a sample (then with the ERROR sample that stands for it: a
            gap would look like a stale PASS), or a consumer that raised (no sample). Without
            it, faults are logged and the ERROR sample goes to ``on_sample``.
        clock: The injected clock; its monotonic time places the ticks.
        secrets: Values redacted from every detail.
        max_concurrency: Most samples in flight at once.
        sleep: How to wait for a delay (``asyncio.sleep``); tests inject one that advances a
            fake clock, so drift is tested without real time.
    """

    def __init__(
        self,
        metrics: Sequence[Metric],
        on_sample: Callable[[Sample], None],
        *,
        clock: Clock,
        secrets: Sequence[str] = (),
        max_concurrency: int = 16,
        sleep: Sleep | None = None,
        on_fault: Callable[[str, BaseException, Sample | None], None] | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.metrics = tuple(metrics)
        self.on_sample = on_sample
        self.on_fault = on_fault
        self.clock = clock
        self.secrets = tuple(secrets)
        self.max_concurrency = max_concurrency
        self._sleep: Sleep = sleep or asyncio.sleep
        self.skipped: dict[str, int] = {m.id: 0 for m in self.metrics}
        """Ticks skipped per metric because its previous sample was still running."""
        self.started: dict[str, int] = {m.id: 0 for m in self.metrics}
        """Samples started per metric."""

    async def run(self) -> None:
        """Sample until cancelled; closes the HTTP clients and cancels samples on exit."""
        clients = HttpClients(pool_size=self.max_concurrency)
        slots = asyncio.Semaphore(self.max_concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        try:
            async with asyncio.TaskGroup() as group:
                for metric in self.metrics:
                    group.create_task(self._loop(metric, clients, slots, in_flight))
        finally:
            for task in in_flight:
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)
            await clients.aclose()

    async def _loop(
        self,
        metric: Metric,
        clients: HttpClients,
        slots: asyncio.Semaphore,
        in_flight: set[asyncio.Task[None]],
    ) -> None:
        interval = metric.interval
        start = self.clock.monotonic()
        tick = 0
        running: asyncio.Task[None] | None = None
        while True:
            delay = start + tick * interval - self.clock.monotonic()
            if delay > 0:
                await self._sleep(delay)
            try:
                if running is not None and not running.done():
                    self.skipped[metric.id] += 1
                else:
                    self.started[metric.id] += 1
                    running = asyncio.create_task(self._sample(metric, clients, slots))
                    in_flight.add(running)
                    running.add_done_callback(in_flight.discard)
            except Exception as exc:  # this tick is lost, not the metric's loop
                self._fault(metric.id, exc, None)
            # The next tick strictly after now: late wake-ups never cause a burst.
            behind = math.floor((self.clock.monotonic() - start) / interval) + 1
            tick = max(tick + 1, behind)

    async def _sample(self, metric: Metric, clients: HttpClients, slots: asyncio.Semaphore) -> None:
        try:
            async with slots:
                sample = await sample_metric_with(
                    metric, clock=self.clock, secrets=self.secrets, clients=clients
                )
        except Exception as exc:  # a probe's bug: fail safe, and say so
            failed = Sample(
                metric.id,
                Status.ERROR,
                None,
                metric.unit,
                self.clock.wall(),
                f"probe failed: {type(exc).__name__}",
            )
            self._fault(metric.id, exc, failed)
            return
        try:
            self.on_sample(sample)
        except Exception as exc:  # the consumer's bug must not stop every probe
            self._fault(metric.id, exc, None)

    def _fault(self, metric_id: str, exc: BaseException, sample: Sample | None) -> None:
        log.error("probe of %s failed", metric_id, exc_info=exc)
        try:
            if self.on_fault is not None:
                self.on_fault(metric_id, exc, sample)
            elif sample is not None:
                self.on_sample(sample)
        except Exception:
            log.exception("a fault of %s could not be reported", metric_id)
