"""History, pure: reading a matrix, thinning it, and drawing it before the live samples."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.engine import State, apply, decide
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.engine.state import Past
from cockpit.probes.history import _BadMatrix, parse_matrix, thin
from cockpit.profile.models import History
from cockpit.sample import Sample, Status
from cockpit.ui import render
from tests.unit.test_engine import DEMO

T = 1_800_000_000.0


def matrix(values: list[list[Any]]) -> dict[str, Any]:
    return {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}


def test_a_matrix_reads_as_points_with_gaps_for_nan_and_inf() -> None:
    points = parse_matrix(
        matrix([[T + 2, "NaN"], [T + 1, "2.5"], [T + 3, "+Inf"], [T + 99, "1"], [T - 99, "1"]]),
        T,
        T + 10,
    )
    assert points == [(T + 1, 2.5), (T + 2, None), (T + 3, None)]  # sorted; outside: dropped
    assert parse_matrix({"resultType": "matrix", "result": []}, T, T + 1) == []


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ({"resultType": "vector", "result": []}, "not a matrix"),
        ({"resultType": "matrix", "result": [{}, {}]}, "2 series; aggregate"),
        (matrix([[True, "1"]]), "timestamp is not a number"),
        (matrix([[T, 1]]), "not a string"),
        (matrix([[T, "x"]]), "'x' is not a number"),
        (matrix([[T]]), "not [timestamp, value]"),
        (matrix([[T, "1"]] * 11_001), "more than Prometheus's own limit"),
        ("nonsense", "no data object"),
    ],
)
def test_a_matrix_that_is_not_one_says_why(data: Any, why: str) -> None:
    with pytest.raises(_BadMatrix) as caught:
        parse_matrix(data, T, T + 10)
    assert why in str(caught.value)


def test_thinning_averages_runs_and_keeps_gaps() -> None:
    points = [(T + n, float(n)) for n in range(10)] + [(T + 10, None), (T + 11, None)]
    kept, per = thin(points, keep=6)
    assert per == 2
    assert kept == [
        (T, 0.5),
        (T + 2, 2.5),
        (T + 4, 4.5),
        (T + 6, 6.5),
        (T + 8, 8.5),
        (T + 10, None),
    ]
    assert thin(points, keep=100) == (points, 1)


def test_the_step_stays_under_prometheus_limit() -> None:
    assert History().resolution() == 3.0  # 15 minutes in 300 points
    assert History.model_validate({"window": "10s"}).resolution() == 1.0
    with pytest.raises(ValueError, match="11,000"):
        History.model_validate({"window": "4h", "step": "1s"})


def test_buckets_average_their_share_of_the_window_and_keep_gaps() -> None:
    past = Past(T, T + 100, 1, tuple((T + n, float(n)) for n in range(50)))
    assert render.buckets(past, 4) == [12.0, 37.0, None, None]


def state_with(values: list[float], live: int) -> State:
    state = State()
    start = i.StartSession(SYSTEM, T, DEMO.model_dump(mode="json"), "", "", "a", "b")
    for event in decide(state, start):
        apply(state, event)
    points = tuple((T - 60 * (len(values) - n), v) for n, v in enumerate(values))
    state.metrics["error-rate"].past = Past(T - 60 * len(values), T, 60, points)
    for n in range(live):
        sample = Sample("error-rate", Status.PASS, 0.1, "%", T + n, "")
        state.metrics["error-rate"].history.append(sample)
    return state


def test_the_history_keeps_half_the_sparkline_however_many_live_samples() -> None:
    metric = DEMO.metric("error-rate")
    spark = render.history_spark(metric, state_with([0.1, 8.0] * 10, live=3), 21)
    history, live = spark.plain.split(render.HISTORY_SEPARATOR)
    assert (len(history), len(live)) == (17, 3)
    spark = render.history_spark(metric, state_with([0.1, 8.0] * 10, live=100), 21)
    history, live = spark.plain.split(render.HISTORY_SEPARATOR)
    assert (len(history), len(live)) == (10, 10)


def test_the_row_gives_the_sparkline_the_width_it_has() -> None:
    metric = DEMO.metric("error-rate")
    state = state_with([0.1, 8.0] * 60, live=5)
    narrow = render.metric_row(metric, state, T + 5, 70).plain
    wide = render.metric_row(metric, state, T + 5, 180).plain
    assert len(wide) > len(narrow) + 100
    assert len(wide.split(render.HISTORY_SEPARATOR)[0]) > 100  # not capped at 40 any more


@pytest.mark.parametrize("width", [60, 79, 80, 118, 120, 200])
@pytest.mark.parametrize("late", [0.0, 40.0, 4000.0], ids=["fresh", "stale-40s", "stale-1h"])
def test_a_row_never_runs_past_its_width_whatever_its_age(width: int, late: float) -> None:
    # "STALE 41s" is wider than the age's column: the sparkline gives way, the age stays whole.
    metric = DEMO.metric("error-rate")
    state = state_with([0.1, 8.0] * 60, live=5)
    now = T + 5 + late
    row = render.metric_row(metric, state, now, width).plain
    assert len(row) <= width, row
    last = state.metrics["error-rate"].history[-1]
    assert row.endswith(render.age_text(last, now, metric.staleness).plain), row
