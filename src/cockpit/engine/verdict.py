"""Judging samples: Argo-style limits for a stop point, and rollback verification."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from cockpit.profile.models import Metric, Profile, RollbackVerify, Threshold
from cockpit.sample import Sample, Status


class Verdict(StrEnum):
    """Where a metric (or a whole stop point) stands."""

    GREEN = "GREEN"
    FAILED = "FAILED"
    INCONCLUSIVE = "INCONCLUSIVE"
    PENDING = "PENDING"


@dataclass
class MetricWindow:
    """Counters of one metric since a stop point (or health window) began."""

    samples: int = 0
    failures: int = 0
    consecutive_errors: int = 0
    consecutive_passes: int = 0
    inconclusive: bool = False
    last: Sample | None = None

    def add(self, sample: Sample, metric: Metric) -> None:
        """Count one sample."""
        self.count(sample.status, metric)
        self.last = sample

    def count(self, status: Status, metric: Metric) -> None:
        """Count one sample of this status (:meth:`add` without keeping it as the last)."""
        self.samples += 1
        if status is Status.INCONCLUSIVE and metric.inconclusive == "fail":
            status = Status.FAIL
        self.consecutive_errors = self.consecutive_errors + 1 if status is Status.ERROR else 0
        self.consecutive_passes = self.consecutive_passes + 1 if status is Status.PASS else 0
        if status is Status.FAIL:
            self.failures += 1
        self.inconclusive = status is Status.INCONCLUSIVE


def metric_verdict(metric: Metric, window: MetricWindow, now: float) -> tuple[Verdict, str]:
    """Judge one metric in its window: the verdict and why, in words."""
    if window.failures > metric.failure_limit:
        return Verdict.FAILED, (f"{window.failures} failed samples (limit {metric.failure_limit})")
    if window.consecutive_errors > metric.consecutive_error_limit:
        return Verdict.FAILED, (
            f"{window.consecutive_errors} errors in a row (limit {metric.consecutive_error_limit})"
        )
    last = window.last
    if last is None:
        return Verdict.PENDING, "no sample yet"
    if now - last.measured_at > metric.staleness:
        return Verdict.PENDING, f"stale: last sample {now - last.measured_at:.0f}s old"
    if window.inconclusive:
        return Verdict.INCONCLUSIVE, f"inconclusive: {last.detail}"
    if window.consecutive_passes >= metric.pass_count:
        return Verdict.GREEN, f"{window.consecutive_passes} passes in a row"
    if last.status is Status.PASS:
        return Verdict.PENDING, f"{window.consecutive_passes}/{metric.pass_count} passes"
    return Verdict.PENDING, f"{last.status.value}: {last.detail}"


def standing(metric: Metric, window: MetricWindow) -> Verdict:
    """A metric's verdict leaving its last sample's age aside: what :func:`metric_verdict`
    says while that sample is fresh (age only ever turns GREEN or INCONCLUSIVE into PENDING)."""
    if window.failures > metric.failure_limit:
        return Verdict.FAILED
    if window.consecutive_errors > metric.consecutive_error_limit:
        return Verdict.FAILED
    if window.samples == 0:
        return Verdict.PENDING
    if window.inconclusive:
        return Verdict.INCONCLUSIVE
    if window.consecutive_passes >= metric.pass_count:
        return Verdict.GREEN
    return Verdict.PENDING


def combine(verdicts: list[Verdict]) -> Verdict:
    """A stop point: FAILED if any failed, else INCONCLUSIVE if any is, else GREEN if all are."""
    if Verdict.FAILED in verdicts:
        return Verdict.FAILED
    if Verdict.INCONCLUSIVE in verdicts:
        return Verdict.INCONCLUSIVE
    if all(v is Verdict.GREEN for v in verdicts):
        return Verdict.GREEN
    return Verdict.PENDING


def tolerance(verify: RollbackVerify, metric_id: str, baseline: float) -> float:
    """How far from its baseline a metric may be after a rollback."""
    relative = abs(baseline) * verify.tolerance_pct / 100.0
    return max(relative, verify.tolerance_abs.get(metric_id, 0.0))


def back_to_baseline(threshold: Threshold, baseline: float, now: float, allowed: float) -> bool:
    """Whether ``now`` is within ``allowed`` of the baseline, or better in the threshold's sense."""
    if threshold.below is not None:
        return now <= baseline + allowed
    if threshold.above is not None:
        return now >= baseline - allowed
    return abs(now - baseline) <= allowed


def verification_sample(profile: Profile, baseline: dict[str, float], sample: Sample) -> Sample:
    """A sample as rollback verification sees it: PASS only if also back at the baseline."""
    base = baseline.get(sample.id)
    if sample.status is not Status.PASS or sample.value is None or base is None:
        return sample
    allowed = tolerance(profile.rollback.verify, sample.id, base)
    if back_to_baseline(profile.metric(sample.id).threshold, base, sample.value, allowed):
        return sample
    return Sample(
        sample.id,
        Status.FAIL,
        sample.value,
        sample.unit,
        sample.measured_at,
        f"{sample.value:g} is not within {allowed:g} of the baseline {base:g}",
    )


def _num(value: float, unit: str = "") -> str:
    return f"{value:.3g}{' ' + unit if unit else ''}"


def baseline_bound(metric: Metric, base: float, allowed: float) -> str:
    """The baseline condition in words: ``≤ 0.71 % (the baseline 0.21 % + 0.5)``; a metric
    may always be better than its baseline in the threshold's direction."""
    unit = metric.unit
    if metric.threshold.below is not None:
        return f"≤ {_num(base + allowed, unit)} (the baseline {_num(base, unit)} + {allowed:.3g})"
    if metric.threshold.above is not None:
        return f"≥ {_num(base - allowed, unit)} (the baseline {_num(base, unit)} − {allowed:.3g})"
    return f"within {allowed:.3g} of the baseline {_num(base, unit)}"


def bound_short(metric: Metric, base: float, allowed: float) -> str:
    """The baseline condition alone: ``≤ 0.71 %``."""
    if metric.threshold.below is not None:
        return f"≤ {_num(base + allowed, metric.unit)}"
    if metric.threshold.above is not None:
        return f"≥ {_num(base - allowed, metric.unit)}"
    return f"{_num(base, metric.unit)} ± {allowed:.3g}"


def back_rule(metric: Metric, base: float | None, allowed: float | None) -> str:
    """What "back" means for one verified metric, in words (the screen states the rule)."""
    condition = metric.threshold.describe(metric.unit)
    if base is not None and allowed is not None:
        condition += f" and {baseline_bound(metric, base, allowed)}"
    else:
        condition += " (no baseline: the threshold alone)"
    return f"{condition}, {metric.pass_count} fresh passes in a row"


def why_not_back(
    metric: Metric, window: MetricWindow, base: float | None, allowed: float | None, now: float
) -> str:
    """Which condition a verified metric fails, in words: never just the numbers."""
    last = window.last
    if last is None:
        return "no sample since the verification began"
    age = now - last.measured_at
    stale = f"no fresh sample for {age:.0f} s" if age > metric.staleness else ""
    if last.value is None:
        why = f"{last.status.value}: {last.detail}"
    else:
        shown = (
            f"now {_num(last.value, metric.unit)}"
            if not stale
            else f"last {_num(last.value, metric.unit)}"
        )
        if not metric.threshold.passes(last.value):
            why = f"{shown}: fails its threshold {metric.threshold.describe(metric.unit)}"
        elif (
            base is not None
            and allowed is not None
            and not back_to_baseline(metric.threshold, base, last.value, allowed)
        ):
            why = (
                f"{shown}: not back at its baseline: needs {baseline_bound(metric, base, allowed)}"
            )
        elif last.status is not Status.PASS:
            why = f"{shown}: {last.status.value}: {last.detail}"
        elif stale:
            return stale
        else:
            passes = f"{window.consecutive_passes} of {metric.pass_count}"
            return f"{shown}: {passes} fresh passes in a row"
    return f"{why}; {stale}" if stale else why


def verification_rule(profile: Profile) -> str:
    """The rule every verified metric meets, with the profile's numbers."""
    verify = profile.rollback.verify
    counts = {profile.metric(m).pass_count for m in verify.metrics}
    passes = f"{counts.pop()} fresh passes" if len(counts) == 1 else "fresh passes (pass_count)"
    absolute = " (or tolerance_abs)" if verify.tolerance_abs else ""
    return (
        f"back: {passes} in a row, inside the threshold and within {verify.tolerance_pct:g} %"
        f"{absolute} of the baseline, or better"
    )
