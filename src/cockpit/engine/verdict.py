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
