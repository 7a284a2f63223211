"""Host capacity from psutil: CPU, memory, disk and load, as several readings over a window.

One reading says little ("CPU 12 %" between two bursts); several readings spread over
``window`` must all lie inside the threshold and agree within ``stable_within`` for the
host to count as having headroom. The value reported is the last reading, the freshest
fact; the detail shows the range.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections.abc import Callable

import psutil

from cockpit.probes.base import ProbeContext, format_value
from cockpit.profile.models import SystemSource
from cockpit.sample import Sample


class _Unmeasurable(Exception):
    """The OS answered with figures that measure nothing."""


class _CpuMeter:
    """Busy percentage of all CPUs between two calls.

    Computed from our own ``cpu_times()`` snapshots rather than ``psutil.cpu_percent``,
    whose "since the last call" state is global: two probes measuring at once would
    shorten each other's intervals.
    """

    def __init__(self) -> None:
        self._last = self._snapshot()

    @staticmethod
    def _snapshot() -> tuple[float, float]:
        times = psutil.cpu_times()
        total = sum(times)
        # On Linux guest time is already counted in user and nice time.
        total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total, total - idle

    def read(self) -> float:
        total, busy = self._snapshot()
        last_total, last_busy = self._last
        self._last = (total, busy)
        elapsed = total - last_total
        if not elapsed > 0 and math.isfinite(elapsed):
            raise _Unmeasurable("the CPU time counters did not advance; nothing was measured")
        share = (busy - last_busy) / elapsed * 100.0
        # Counters may step back a little (iowait does): clamp, but never turn NaN into 100.
        return max(0.0, min(100.0, share)) if math.isfinite(share) else share


def _memory() -> float:
    memory = psutil.virtual_memory()
    if memory.total <= 0:  # psutil then reports 0 % used
        raise _Unmeasurable("the OS reports no memory at all")
    return float(memory.percent)


def _load() -> float:
    cores = psutil.cpu_count() or 1
    return float(psutil.getloadavg()[0]) / cores


async def probe_system(source: SystemSource, ctx: ProbeContext) -> Sample:
    """Take ``source.samples`` readings spread over ``source.window``.

    PASS only if every reading is inside the threshold and max - min <= stable_within.
    ``AccessDenied`` and other psutil errors are ERROR.
    """
    try:
        readings = await _readings(source)
    except psutil.AccessDenied as exc:
        return ctx.error(f"{source.resource}: access denied by the OS ({exc})")
    except FileNotFoundError:
        return ctx.error(f"disk: no such path {ctx.quote(source.path)}")
    except (psutil.Error, OSError) as exc:
        return ctx.error(f"{source.resource}: {type(exc).__name__}: {exc}")
    except _Unmeasurable as exc:
        return ctx.error(f"{source.resource}: {exc}")
    except ValueError:  # psutil parsing what /proc holds
        return ctx.error(f"{source.resource}: the OS's figures are not numbers")
    problem = _not_a_number(source.resource, readings)
    if problem is not None:
        return ctx.error(problem)
    last = readings[-1]
    shown = ", ".join(format_value(round(r, 1)) for r in readings)
    spread = max(readings) - min(readings)
    if ctx.threshold is not None:
        outside = [r for r in readings if not ctx.threshold.passes(r)]
        if outside:
            return ctx.fail(
                f"{len(outside)} of {len(readings)} readings outside "
                f"{ctx.threshold.describe(ctx.unit)} ({shown})",
                last,
            )
    if spread > source.stable_within:
        return ctx.fail(
            f"not stable: readings {shown} spread {spread:.1f} > {source.stable_within:g}",
            last,
        )
    return ctx.judge(last, f"{len(readings)} readings over {source.window:g}s: {shown}")


def _not_a_number(resource: str, readings: list[float]) -> str | None:
    """Why the readings cannot be compared with a threshold, or None."""
    for reading in readings:
        if not math.isfinite(reading):
            return f"{resource}: a reading is {format_value(reading)}, not a number"
    return None


async def _readings(source: SystemSource) -> list[float]:
    count = source.samples
    if source.resource == "cpu":
        # CPU is a rate: a priming snapshot, then one reading per slice of the window.
        meter = _CpuMeter()
        readings: list[float] = []
        for _ in range(count):
            await asyncio.sleep(source.window / count)
            readings.append(meter.read())
        return readings
    read: Callable[[], float]
    if source.resource == "memory":
        read = _memory
    elif source.resource == "load":
        read = _load
    else:
        path = source.path

        def read() -> float:
            return float(psutil.disk_usage(os.fspath(path)).percent)

    gap = source.window / (count - 1) if count > 1 else 0.0
    readings = []
    for i in range(count):
        if i:
            await asyncio.sleep(gap)
        # disk_usage may block on a network filesystem: keep it off the event loop.
        readings.append(await asyncio.to_thread(read) if source.resource == "disk" else read())
    return readings
