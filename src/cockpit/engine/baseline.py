"""An incident's baseline: how the metrics were before it began, from their own history.

Pure: given the profile, what each metric's history held and (maybe) the time the crew gave,
the baseline each verified metric is compared with after the rollback.

When the incident began: the crew's ``--baseline-at``, else the start of the first RED
stretch in the history. A metric RED at the end of its history has a stretch reaching the
present; the earliest start among those is when the incident began. When none is RED any
more, the earliest stretch of all is taken. A point is RED when its value fails the metric's
threshold; a gap (NaN) neither starts nor ends a stretch.

The baseline of a metric is the mean of its history over ``[history] baseline_window``
before that moment. A metric without history there (another kind of source, a failed query,
a window that starts after the moment) is verified against its threshold, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cockpit.profile.models import Metric, Profile

Point = tuple[float, float | None]

THRESHOLD = "threshold"
HISTORY = "history"


@dataclass(frozen=True)
class RedStretch:
    """A run of RED points in one metric's history."""

    metric_id: str
    start: float
    end: float
    """The last RED point."""
    now: bool
    """Whether the stretch reaches the newest point of the history (the metric is RED now)."""
    from_first: bool
    """Whether it starts at the first point: it may have begun before the history."""


@dataclass(frozen=True)
class MetricBaseline:
    """What one verified metric is compared with after the rollback."""

    value: float | None
    """The baseline value; None: verified against the threshold alone."""
    how: str
    """"history", or "threshold"."""
    why: str
    """In words, for the screen and the report."""

    def to_json(self) -> dict[str, object]:
        return {"value": self.value, "how": self.how, "why": self.why}


@dataclass(frozen=True)
class Baseline:
    """The baseline of an incident: from when, why then, and per verified metric."""

    at: float | None
    """The moment the baseline is taken before; None when there is none."""
    source: str
    """"baseline-at" (the crew's time), "red-stretch" (the history's), or "none"."""
    red: RedStretch | None
    """The RED stretch the incident began with, when the history shows one."""
    metrics: dict[str, MetricBaseline]


def red_stretches(metric: Metric, points: Sequence[Point]) -> list[RedStretch]:
    """The RED stretches of one metric's history, oldest first."""
    finite = [(t, v) for t, v in points if v is not None]
    out: list[RedStretch] = []
    start: float | None = None
    last_red = 0.0
    for index, (t, v) in enumerate(finite):
        red = not metric.threshold.passes(v)
        if red:
            if start is None:
                start = t
                first = index == 0
            last_red = t
        elif start is not None:
            out.append(RedStretch(metric.id, start, last_red, False, first))
            start = None
    if start is not None:
        out.append(RedStretch(metric.id, start, last_red, True, first))
    return out


def incident_start(profile: Profile, histories: Mapping[str, Sequence[Point]]) -> RedStretch | None:
    """The RED stretch the incident began with (see the module's docstring), or None."""
    stretches = [
        s
        for metric in profile.metrics
        if metric.id in histories
        for s in red_stretches(metric, histories[metric.id])
    ]
    now = [s for s in stretches if s.now]
    candidates = now or stretches
    return min(candidates, key=lambda s: s.start) if candidates else None


def choose_baseline(
    profile: Profile,
    histories: Mapping[str, Sequence[Point]],
    unavailable: Mapping[str, str],
    baseline_at: float | None,
) -> Baseline:
    """The baseline of each verified metric.

    Args:
        profile: The profile (its thresholds, verified metrics and baseline window).
        histories: Each metric's history points that were read.
        unavailable: Why a metric has no history (a failed query, another source).
        baseline_at: The crew's baseline time, if they gave one.
    """
    red = incident_start(profile, histories)
    if baseline_at is not None:
        at: float | None = baseline_at
        source = "baseline-at"
    elif red is not None:
        at, source = red.start, "red-stretch"
    else:
        at, source = None, "none"
    window = profile.history.baseline_window
    metrics: dict[str, MetricBaseline] = {}
    for metric_id in profile.rollback.verify.metrics:
        if metric_id in unavailable:
            metrics[metric_id] = _threshold(unavailable[metric_id])
            continue
        if metric_id not in histories:
            metrics[metric_id] = _threshold("no history was read")
            continue
        if at is None:
            metrics[metric_id] = _threshold("no RED stretch in the history to take it before")
            continue
        before = [v for t, v in histories[metric_id] if at - window <= t < at and v is not None]
        if not before:
            metrics[metric_id] = _threshold(f"no history in the {window:g} s before the incident")
            continue
        mean = sum(before) / len(before)
        metrics[metric_id] = MetricBaseline(
            mean, HISTORY, f"mean of the {window:g} s before, {len(before)} points"
        )
    return Baseline(at, source, red, metrics)


def _threshold(why: str) -> MetricBaseline:
    return MetricBaseline(None, THRESHOLD, f"verified against the threshold ({why})")
