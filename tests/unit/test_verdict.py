"""The limits a stop point is judged by, and how a rollback is verified against the baseline.

Values are chosen to be exact in binary floating point, so that each boundary is tested on
the boundary itself and one step either side of it.
"""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.engine.verdict import (
    MetricWindow,
    Verdict,
    back_to_baseline,
    combine,
    metric_verdict,
    tolerance,
    verification_sample,
)
from cockpit.profile.models import Metric, Profile, Threshold
from cockpit.sample import Sample, Status
from tests.unit.test_engine import DEMO, T, demo_data, sample

# error-rate: below 2 %, pass_count 3, failure_limit 2, staleness 5 s, 4 errors in a row allowed
ERROR_RATE = DEMO.metric("error-rate")


def window_of(metric: Metric, *statuses: Status, at: float = T) -> MetricWindow:
    """A window fed one sample per status, one second apart, the last one at ``at``."""
    window = MetricWindow()
    for n, status in enumerate(statuses):
        measured = at - (len(statuses) - 1 - n)
        window.add(Sample(metric.id, status, 1.0, "%", measured, f"sample {n}"), metric)
    return window


def with_(metric: Metric, **changes: Any) -> Metric:
    return metric.model_copy(update=changes)


# ---------------------------------------------------------------- counting samples


def test_a_window_counts_every_sample_and_keeps_the_last() -> None:
    window = window_of(ERROR_RATE, Status.PASS, Status.ERROR, Status.FAIL)
    assert window.samples == 3
    assert window.last is not None and window.last.detail == "sample 2"
    assert window.failures == 1
    assert window.consecutive_errors == 0  # the FAIL ended the run of errors
    assert window.consecutive_passes == 0


def test_errors_in_a_row_are_counted_until_another_status() -> None:
    window = window_of(ERROR_RATE, Status.ERROR, Status.ERROR, Status.ERROR)
    assert window.consecutive_errors == 3
    assert window.failures == 0
    window.add(sample("error-rate", Status.PASS, 1.0, T + 1), ERROR_RATE)
    assert window.consecutive_errors == 0
    assert window.consecutive_passes == 1


def test_a_fail_resets_the_pass_streak() -> None:
    window = window_of(ERROR_RATE, Status.PASS, Status.PASS, Status.FAIL, Status.PASS, Status.PASS)
    assert window.consecutive_passes == 2
    verdict, why = metric_verdict(ERROR_RATE, window, T)
    assert (verdict, why) == (Verdict.PENDING, "2/3 passes")
    window.add(sample("error-rate", Status.PASS, 1.0, T + 1), ERROR_RATE)
    assert metric_verdict(ERROR_RATE, window, T + 1) == (Verdict.GREEN, "3 passes in a row")


def test_an_error_also_resets_the_pass_streak() -> None:
    window = window_of(ERROR_RATE, Status.PASS, Status.PASS, Status.ERROR, Status.PASS)
    assert window.consecutive_passes == 1


def test_inconclusive_holds_by_default_and_clears_with_the_next_sample() -> None:
    window = window_of(ERROR_RATE, Status.PASS, Status.INCONCLUSIVE)
    assert window.inconclusive
    assert window.failures == 0
    verdict, why = metric_verdict(ERROR_RATE, window, T)
    assert verdict is Verdict.INCONCLUSIVE and why == "inconclusive: sample 1"
    window.add(sample("error-rate", Status.PASS, 1.0, T + 1), ERROR_RATE)
    assert not window.inconclusive


def test_inconclusive_counts_as_a_failure_when_the_metric_says_fail() -> None:
    strict = with_(ERROR_RATE, inconclusive="fail", failure_limit=1)
    window = window_of(strict, Status.PASS, Status.INCONCLUSIVE)
    assert window.failures == 1
    assert not window.inconclusive
    assert window.consecutive_passes == 0
    assert metric_verdict(strict, window, T)[0] is Verdict.PENDING  # at the limit
    window.add(sample("error-rate", Status.INCONCLUSIVE, 0.0, T + 1), strict)
    assert metric_verdict(strict, window, T + 1) == (
        Verdict.FAILED,
        "2 failed samples (limit 1)",
    )


def test_the_fail_policy_changes_nothing_but_inconclusive() -> None:
    strict = with_(ERROR_RATE, inconclusive="fail")
    statuses = (Status.PASS, Status.ERROR, Status.FAIL, Status.PASS)
    a, b = window_of(ERROR_RATE, *statuses), window_of(strict, *statuses)
    assert (a.failures, a.consecutive_passes, a.inconclusive) == (1, 1, False)
    assert (b.failures, b.consecutive_passes, b.inconclusive) == (1, 1, False)


# ---------------------------------------------------------------- judging a metric


def test_failures_up_to_the_limit_are_tolerated() -> None:
    at_limit = window_of(ERROR_RATE, Status.FAIL, Status.FAIL, Status.PASS)
    assert metric_verdict(ERROR_RATE, at_limit, T)[0] is Verdict.PENDING
    beyond = window_of(ERROR_RATE, Status.FAIL, Status.FAIL, Status.FAIL)
    assert metric_verdict(ERROR_RATE, beyond, T) == (
        Verdict.FAILED,
        "3 failed samples (limit 2)",
    )


def test_errors_in_a_row_up_to_the_limit_are_tolerated() -> None:
    at_limit = window_of(ERROR_RATE, *[Status.ERROR] * 4)
    assert metric_verdict(ERROR_RATE, at_limit, T) == (Verdict.PENDING, "ERROR: sample 3")
    beyond = window_of(ERROR_RATE, *[Status.ERROR] * 5)
    assert metric_verdict(ERROR_RATE, beyond, T) == (
        Verdict.FAILED,
        "5 errors in a row (limit 4)",
    )


def test_failures_are_judged_before_anything_else() -> None:
    # Stale and not enough passes too, but the limit is what counts.
    window = window_of(ERROR_RATE, Status.FAIL, Status.FAIL, Status.FAIL)
    assert metric_verdict(ERROR_RATE, window, T + 60)[0] is Verdict.FAILED


def test_no_sample_is_pending() -> None:
    assert metric_verdict(ERROR_RATE, MetricWindow(), T) == (Verdict.PENDING, "no sample yet")


def test_a_sample_older_than_the_staleness_is_pending() -> None:
    window = window_of(ERROR_RATE, Status.PASS, Status.PASS, Status.PASS)
    assert metric_verdict(ERROR_RATE, window, T + 5)[0] is Verdict.GREEN  # exactly 5 s old
    assert metric_verdict(ERROR_RATE, window, T + 6) == (
        Verdict.PENDING,
        "stale: last sample 6s old",
    )


def test_a_stale_inconclusive_is_pending_not_inconclusive() -> None:
    window = window_of(ERROR_RATE, Status.INCONCLUSIVE)
    assert metric_verdict(ERROR_RATE, window, T + 6)[0] is Verdict.PENDING


def test_green_needs_exactly_pass_count_passes() -> None:
    once = with_(ERROR_RATE, pass_count=1)
    assert metric_verdict(once, window_of(once, Status.PASS), T)[0] is Verdict.GREEN
    assert metric_verdict(ERROR_RATE, window_of(ERROR_RATE, Status.PASS), T) == (
        Verdict.PENDING,
        "1/3 passes",
    )


def test_a_last_sample_that_is_not_a_pass_says_why() -> None:
    window = window_of(ERROR_RATE, Status.PASS, Status.FAIL)
    assert metric_verdict(ERROR_RATE, window, T) == (Verdict.PENDING, "FAIL: sample 1")


# ---------------------------------------------------------------- a whole stop point


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([Verdict.GREEN, Verdict.INCONCLUSIVE, Verdict.FAILED], Verdict.FAILED),
        ([Verdict.FAILED, Verdict.PENDING], Verdict.FAILED),
        ([Verdict.GREEN, Verdict.INCONCLUSIVE, Verdict.PENDING], Verdict.INCONCLUSIVE),
        ([Verdict.GREEN, Verdict.PENDING], Verdict.PENDING),
        ([Verdict.PENDING, Verdict.GREEN], Verdict.PENDING),
        ([Verdict.GREEN, Verdict.GREEN], Verdict.GREEN),
        ([], Verdict.GREEN),
    ],
)
def test_combine(verdicts: list[Verdict], expected: Verdict) -> None:
    assert combine(verdicts) is expected


# ---------------------------------------------------------------- rollback verification

VERIFY = DEMO.rollback.verify  # tolerance 50 %; error-rate at least 0.5, p99 and ready 50


@pytest.mark.parametrize(
    ("metric_id", "baseline", "expected"),
    [
        ("error-rate", 4.0, 2.0),  # relative: 50 % of 4
        ("error-rate", -4.0, 2.0),  # of the size of the baseline
        ("error-rate", 0.25, 0.5),  # the absolute tolerance is larger
        ("throughput", 8.0, 4.0),  # no absolute tolerance: relative only
        ("throughput", 1.0, 0.5),
        ("throughput", 0.0, 0.0),
    ],
)
def test_tolerance(metric_id: str, baseline: float, expected: float) -> None:
    assert tolerance(VERIFY, metric_id, baseline) == expected


BELOW, ABOVE, BETWEEN = Threshold(below=2), Threshold(above=5), Threshold(between=[0, 10])


@pytest.mark.parametrize(
    ("threshold", "now", "back"),
    [
        # below: anything up to baseline + allowed, lower is better
        (BELOW, 12.0, True),
        (BELOW, 12.5, False),
        (BELOW, 0.0, True),
        # above: anything down to baseline - allowed, higher is better
        (ABOVE, 8.0, True),
        (ABOVE, 7.5, False),
        (ABOVE, 100.0, True),
        # between (no better side): within allowed either way
        (BETWEEN, 12.0, True),
        (BETWEEN, 8.0, True),
        (BETWEEN, 12.5, False),
        (BETWEEN, 7.5, False),
    ],
)
def test_back_to_baseline(threshold: Threshold, now: float, back: bool) -> None:
    assert back_to_baseline(threshold, 10.0, now, 2.0) is back


def profile_with(metric_id: str, threshold: dict[str, Any]) -> Profile:
    data = demo_data()
    for metric in data["metrics"]:
        if metric["id"] == metric_id:
            metric["threshold"] = threshold
    data["rollback"]["verify"]["metrics"] = [metric_id]
    return Profile.model_validate(data)


def test_verification_of_an_above_threshold() -> None:
    profile = profile_with("throughput", {"above": 5})
    baseline = {"throughput": 40.0}  # allowed: 50 % of 40 = 20
    back = sample("throughput", Status.PASS, 20.0, T)
    assert verification_sample(profile, baseline, back) is back
    better = sample("throughput", Status.PASS, 90.0, T)
    assert verification_sample(profile, baseline, better) is better
    low = verification_sample(profile, baseline, sample("throughput", Status.PASS, 19.5, T))
    assert low == Sample(
        "throughput", Status.FAIL, 19.5, "", T, "19.5 is not within 20 of the baseline 40"
    )


def test_verification_of_a_metric_without_a_better_side() -> None:
    profile = profile_with("ready", {"between": [0, 500]})
    baseline = {"ready": 200.0}  # allowed: max(100, 50) = 100
    for value, status in [(300.0, Status.PASS), (100.0, Status.PASS), (301.0, Status.FAIL)]:
        judged = verification_sample(profile, baseline, sample("ready", Status.PASS, value, T))
        assert judged.status is status, value
    low = verification_sample(profile, baseline, sample("ready", Status.PASS, 99.0, T))
    assert low.status is Status.FAIL
    assert low.detail == "99 is not within 100 of the baseline 200"


def test_verification_of_a_below_threshold() -> None:
    baseline = {"error-rate": 1.0}  # allowed: max(0.5, 0.5) = 0.5
    edge = verification_sample(DEMO, baseline, sample("error-rate", Status.PASS, 1.5, T))
    assert edge.status is Status.PASS
    far = verification_sample(DEMO, baseline, sample("error-rate", Status.PASS, 1.75, T))
    assert far.status is Status.FAIL


@pytest.mark.parametrize(
    "given",
    [
        sample("error-rate", Status.FAIL, 9.0, T),  # not a PASS: judged as it is
        Sample("error-rate", Status.PASS, None, "%", T, "no value"),
        sample("p99", Status.PASS, 900.0, T),  # no baseline for it
    ],
)
def test_verification_leaves_what_it_cannot_compare(given: Sample) -> None:
    assert verification_sample(DEMO, {"error-rate": 1.0}, given) is given
