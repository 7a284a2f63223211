"""A replay's Prometheus history: what each Prometheus metric did over the replayed session.

The journal holds the samples the cockpit took; Prometheus may hold more: the metric before
the session began and between the samples. When the profile's Prometheus is reachable and
still holds the session's time range, :func:`read_history` reads each Prometheus metric over
[first record − the profile's ``[history] window``, last record] with one ``query_range``
(through the probes' client and its rules: a bounded body, NaN and infinity as gaps, reasons
redacted), and :meth:`ReplayHistory.past_at` gives the part up to a replayed moment, never
later. Anything else is one line for the screen (:meth:`ReplayHistory.line`), and the replay
goes on from the journal alone: unreachable, outside its retention (it answers, with nothing
for the range), or an error answer.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from cockpit.clock import Clock
from cockpit.engine.state import Past
from cockpit.probes.base import HttpClients
from cockpit.probes.history import MetricHistory, Point, fetch_history
from cockpit.profile import Metric, Profile, ProfileError
from cockpit.profile.models import PrometheusSource
from cockpit.profile.resolve import resolve_part

POINTS = 2000
"""Points asked for over the whole range: the widest sparkline (about 100 cells at 200
columns) still has one per cell when the replay stands a twentieth of the way in."""
SHOWN_POINTS = 200
"""At most this many points are drawn for a replayed moment, each the mean of those read in
its share of the time: a redraw costs the same however many were read (measured: a row with
2,000 points cost 2.3 ms, about twice the live cockpit's 600)."""

JOURNAL_ONLY = " — journal only"


class Status(StrEnum):
    """Where the reading of the history stands."""

    OFF = "off"
    """Not asked for (``cockpit replay --no-prometheus``)."""
    NONE = "none"
    """No metric of the profile is read from Prometheus."""
    READING = "reading"
    READ = "read"
    """At least one metric has history."""
    UNREACHABLE = "unreachable"
    """No answer from Prometheus (refused, not resolvable, the deadline)."""
    OUTSIDE_RETENTION = "outside retention"
    """Prometheus answered, with no data for the range."""
    ERROR = "error"
    """Prometheus answered with an error, or something unusable."""


@dataclass(frozen=True)
class ReplayHistory:
    """The Prometheus history of a replay, or why there is none.

    Attributes:
        status: Where the reading stands.
        start: The range asked for, from (wall time)...
        end: ...to.
        metrics: Per metric id, what was read (with points, or the reason there are none).
        reason: Why there is no history at all, or why some metrics have none.
    """

    status: Status
    start: float = 0.0
    end: float = 0.0
    metrics: Mapping[str, MetricHistory] = field(default_factory=dict)
    reason: str = ""

    @property
    def journal_only(self) -> bool:
        """The replay shows the journal alone (no Prometheus point for any metric)."""
        return self.status is not Status.READ

    def past_at(self, metric_id: str, wall: float) -> Past | None:
        """The metric's Prometheus history from the range's start up to ``wall``, never a
        point after it, in at most :data:`SHOWN_POINTS` points; None when it has none there."""
        history = self.metrics.get(metric_id)
        series = self._series.get(metric_id)
        if history is None or series is None:
            return None
        last = self._last.get(metric_id)
        if last is not None and last[0] == wall:
            return last[1]  # a paused replay redraws every second at the same moment
        upto = bisect.bisect_right(series.times, wall)
        past = None
        if series.counts[upto]:  # else no number up to here: the journal's history shows
            if upto <= SHOWN_POINTS:
                points = history.points[:upto]
            else:
                points = series.means(upto, wall, SHOWN_POINTS)
            past = Past(history.start, max(history.start, wall), history.step, points)
        self._last[metric_id] = (wall, past)
        return past

    @functools.cached_property
    def _series(self) -> dict[str, _Sums]:
        return {m: _Sums.of(h.points) for m, h in self.metrics.items() if h.points}

    @functools.cached_property
    def _last(self) -> dict[str, tuple[float, Past | None]]:
        return {}

    def line(self, width: int) -> str:
        """One line for the screen, at most ``width`` characters; empty when there is
        nothing to say (not asked for, or no Prometheus metric)."""
        if self.status in (Status.OFF, Status.NONE):
            return ""
        if self.status is Status.READING:
            span = f"{_utc(self.start)[:-4]} to {_utc(self.end)}"
            return _fit("Prometheus history: reading", span, "…", width)
        if self.status is Status.READ:
            head = "left of │: Prometheus history up to this moment; right: the journal's samples"
            if self.reason:
                return _cut(f"left of │: Prometheus history · ✘ {self.reason}", width)
            if len(head) > width:
                head = "left of │: Prometheus history to here; right: journal"
            return head[:width]
        mark = "" if self.status is Status.OUTSIDE_RETENTION else "✘ "
        head = f"{mark}Prometheus history: {self.status.value}"
        reason = self.reason.removeprefix("Prometheus: ").removeprefix("Prometheus ")
        return _fit(head, reason, JOURNAL_ONLY, width)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


@dataclass(frozen=True)
class _Sums:
    """A series' times, and the running sum and count of its numbers (gaps count nothing):
    the mean over any stretch is two subtractions, whatever the number of points read."""

    times: list[float]
    sums: list[float]
    counts: list[int]

    @classmethod
    def of(cls, points: Sequence[Point]) -> _Sums:
        sums, counts = [0.0], [0]
        for _, value in points:
            sums.append(sums[-1] + (value or 0.0))
            counts.append(counts[-1] + (value is not None))
        return cls([t for t, _ in points], sums, counts)

    def means(self, upto: int, wall: float, bins: int) -> tuple[Point, ...]:
        """The first ``upto`` points as ``bins`` means over equal shares of their span
        (from the first point to ``wall``); a share without a number is a gap."""
        first = self.times[0]
        width = max(wall - first, 1e-9) / bins
        edges = [bisect.bisect_left(self.times, first + width * k, 0, upto) for k in range(bins)]
        edges.append(upto)
        out: list[Point] = []
        for k in range(bins):
            lo, hi = edges[k], edges[k + 1]
            count = self.counts[hi] - self.counts[lo]
            mean = (self.sums[hi] - self.sums[lo]) / count if count else None
            out.append((first + width * k, mean))
        return tuple(out)


def _fit(head: str, reason: str, tail: str, width: int) -> str:
    """``head (reason)tail`` in ``width`` characters: the reason is cut first."""
    if not reason:
        return (head + tail)[:width]
    room = width - len(head) - len(tail) - 3
    if room < len(reason):
        reason = reason[: max(0, room - 1)] + "…" if room > 1 else ""
    if not reason:
        return (head + tail)[:width]
    return f"{head} ({reason}){tail}"[:width]


def _utc(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, tz=dt.UTC).strftime("%H:%M:%S UTC")


def prometheus_metrics(profile: Profile) -> list[Metric]:
    """The metrics read from Prometheus, in profile order."""
    return [m for m in profile.metrics if isinstance(m.source, PrometheusSource)]


def pending(profile: Profile, start: float, end: float, *, wanted: bool = True) -> ReplayHistory:
    """What a replay has before the history is read: OFF, NONE, or READING."""
    if not wanted:
        return ReplayHistory(Status.OFF, start, end)
    if not prometheus_metrics(profile):
        return ReplayHistory(Status.NONE, start, end)
    return ReplayHistory(Status.READING, start, end)


def replay_range(profile: Profile, first: float, last: float) -> tuple[float, float]:
    """The range read for a session whose records run from ``first`` to ``last``: from the
    profile's history window before it (what the cockpit read when it opened) to its end."""
    return first - profile.history.window, max(first, last)


async def read_history(
    profile: Profile,
    environ: Mapping[str, str],
    start: float,
    end: float,
    *,
    clock: Clock,
    clients: HttpClients | None = None,
) -> ReplayHistory:
    """Read every Prometheus metric over [start, end], concurrently, each within the profile's
    ``[history] timeout``; never raises (except ``CancelledError``).

    ``profile`` is the journal's, as written: each source's references are resolved from
    ``environ`` alone (a metric whose variables are not set has no history, and says so).
    """
    metrics = prometheus_metrics(profile)
    if not metrics:
        return ReplayHistory(Status.NONE, start, end)
    step = max(1.0, (end - start) / POINTS)
    own = clients is None
    http = clients or HttpClients()

    async def one(metric: Metric) -> MetricHistory:
        try:
            source, secrets = resolve_part(metric.source, environ, f"metrics.{metric.id}.source")
        except ProfileError as exc:
            why = exc.problems[0].message if exc.problems else "cannot resolve"
            return MetricHistory(metric.id, start, end, step, error=why)
        return await fetch_history(
            metric.model_copy(update={"source": source}),
            start=start,
            end=end,
            step=step,
            timeout=profile.history.timeout,
            clock=clock,
            secrets=secrets,
            clients=http,
            keep=POINTS,
        )

    try:
        histories = await asyncio.gather(*(one(m) for m in metrics))
    finally:
        if own:
            await http.aclose()
    return summarise(histories, start, end, titles={m.id: m.title for m in metrics})


def summarise(
    histories: Sequence[MetricHistory],
    start: float,
    end: float,
    *,
    titles: Mapping[str, str] | None = None,
) -> ReplayHistory:
    """What the range queries gave, as one status and one reason."""
    titles = titles or {}
    by_id = {h.metric_id: h for h in histories}
    failed = [h for h in histories if not h.points]
    if len(failed) < len(histories):
        reason = ""
        if failed:
            first = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            name = titles.get(first.metric_id, first.metric_id)
            reason = f"none for {name}{more}: {first.error}"
        return ReplayHistory(Status.READ, start, end, by_id, reason)
    if all(h.no_data for h in failed):
        reason = f"no data from {_utc(start)[:-4]} to {_utc(end)}"
        return ReplayHistory(Status.OUTSIDE_RETENTION, start, end, by_id, reason)
    unreachable = [h for h in failed if h.unreachable]
    if unreachable:
        return ReplayHistory(Status.UNREACHABLE, start, end, by_id, unreachable[0].error or "")
    first = next(h for h in failed if not h.no_data)
    return ReplayHistory(Status.ERROR, start, end, by_id, first.error or "")


def failed(start: float, end: float, why: str) -> ReplayHistory:
    """The reading itself failed (a bug, seen as a state rather than a dead worker)."""
    return ReplayHistory(Status.ERROR, start, end, reason=why)


__all__ = [
    "POINTS",
    "ReplayHistory",
    "Status",
    "failed",
    "pending",
    "prometheus_metrics",
    "read_history",
    "replay_range",
    "summarise",
]
