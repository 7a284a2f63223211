"""File-age probes: a file's modification time as evidence, e.g. "smoke tests passed today"."""

from __future__ import annotations

import asyncio
import datetime
import os

from cockpit.durations import format_duration
from cockpit.probes.base import ProbeContext
from cockpit.profile.models import FileAgeSource
from cockpit.sample import Sample, Status

_FUTURE_SLACK = 60.0
"""Seconds an mtime may lie in the future before it is treated as a clock problem."""


def _local_date(epoch: float) -> datetime.date:
    return datetime.datetime.fromtimestamp(epoch).date()


async def probe_file_age(source: FileAgeSource, ctx: ProbeContext) -> Sample:
    """The age of ``source.path`` in seconds against ``max_age`` and/or ``today``.

    ``today`` compares local dates of the mtime and of the injected clock's wall time.
    A missing file is FAIL (the evidence is absent); an unreadable one is ERROR.
    """
    try:
        # stat may block on a network filesystem: keep it off the event loop.
        stat = await asyncio.to_thread(os.stat, source.path)
    except FileNotFoundError:
        return ctx.fail(f"no such file: {source.path}")
    except OSError as exc:
        return ctx.error(f"cannot stat {source.path}: {exc.strerror or exc}")
    now = ctx.clock.wall()
    age = now - stat.st_mtime
    if age < -_FUTURE_SLACK:
        return ctx.inconclusive(
            f"{source.path} is dated {format_duration(-age)} in the future; check the clocks"
        )
    age = max(age, 0.0)
    written = datetime.datetime.fromtimestamp(stat.st_mtime).strftime("%Y-%m-%d %H:%M")
    facts = f"written {written} ({format_duration(age)} ago)"
    if source.today and _local_date(stat.st_mtime) != _local_date(now):
        return ctx.fail(f"{facts}, not today ({_local_date(now).isoformat()})", age)
    if source.max_age is not None and age > source.max_age:
        return ctx.fail(f"{facts}, older than {format_duration(source.max_age)}", age)
    if ctx.threshold is not None:
        return ctx.judge(age, facts)
    return ctx.sample(Status.PASS, facts, age)
