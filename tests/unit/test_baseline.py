"""An incident's baseline, pure: when the incident began (the first RED stretch, or the crew's
time), the mean of the history before it, the threshold where there is no history, and the
verification that waits for it and says which condition a metric fails."""

from __future__ import annotations

from typing import Any

import pytest

from cockpit.engine import SYSTEM, Phase, Refusal, State, decide, replay
from cockpit.engine import intents as i
from cockpit.engine.baseline import choose_baseline, incident_start, red_stretches
from cockpit.engine.kinds import Kind
from cockpit.engine.verdict import MetricWindow, back_rule, why_not_back
from cockpit.profile.models import Metric, Profile
from cockpit.sample import Sample, Status
from tests.unit.test_engine import OPERATOR, Sim, T, demo_data

PROMETHEUS = {"kind": "prometheus", "url": "http://127.0.0.1:9090", "query": "q"}


def incident_data(**history: Any) -> dict[str, Any]:
    """The demo profile with its error rate and p99 read from Prometheus."""
    data = demo_data()
    for metric in data["metrics"]:
        if metric["id"] in ("error-rate", "p99"):
            metric["source"] = dict(PROMETHEUS)
    data["history"] = {"window": "15m", "baseline_window": "1m", **history}
    return data


PROFILE = Profile.model_validate(incident_data())


def series(*values: float | None, start: float = T - 600, step: float = 10.0) -> list[Any]:
    return [(start + n * step, v) for n, v in enumerate(values)]


def quiet_then_red(
    red_from: int, count: int = 60, quiet: float = 0.2, red: float = 8.0
) -> list[Any]:
    return series(*[quiet if n < red_from else red for n in range(count)])


# ---------------------------------------------------------------- when the incident began


def test_the_stretch_that_reaches_now_is_the_incident_not_an_earlier_blip() -> None:
    p99 = [120.0] * 60
    p99[4] = p99[5] = 400.0  # a blip long before, over by itself
    p99[45:] = [400.0] * 15  # RED again from point 45 to now
    histories = {"error-rate": quiet_then_red(42), "p99": series(*p99)}
    red = incident_start(PROFILE, histories)
    assert red is not None
    assert (red.metric_id, red.start, red.now) == ("error-rate", T - 600 + 420, True)


def test_with_nothing_red_now_the_first_stretch_is_taken() -> None:
    values = [0.2] * 60
    values[20:25] = [5.0] * 5
    values[40:42] = [5.0] * 2
    red = incident_start(PROFILE, {"error-rate": series(*values)})
    assert red is not None and red.start == T - 600 + 200 and not red.now


def test_a_gap_neither_starts_nor_ends_a_stretch() -> None:
    quiet: list[float | None] = [0.2] * 10
    values = [*quiet, 8.0, None, 8.0, None, 8.0]
    (stretch,) = red_stretches(PROFILE.metric("error-rate"), series(*values))
    assert stretch.start == T - 600 + 100 and stretch.now


# ---------------------------------------------------------------- the baseline before it


def test_the_baseline_is_the_mean_of_the_window_before_the_red_stretch() -> None:
    values = [0.1, 0.3] * 20 + [8.0] * 20  # RED from point 40; the minute before: 6 points
    choice = choose_baseline(PROFILE, {"error-rate": series(*values)}, {}, None)
    assert (choice.source, choice.at) == ("red-stretch", T - 600 + 400)
    base = choice.metrics["error-rate"]
    assert base.how == "history" and base.value == pytest.approx(0.2)
    assert base.why == "mean of the 60 s before, 6 points"


def test_the_crews_time_wins_over_the_history() -> None:
    values = [0.1] * 20 + [1.0] * 20 + [8.0] * 20
    choice = choose_baseline(PROFILE, {"error-rate": series(*values)}, {}, T - 600 + 400)
    assert choice.source == "baseline-at"
    assert choice.metrics["error-rate"].value == pytest.approx(1.0)  # the 6 points before it
    assert choice.red is not None  # the history's RED stretch is still told


def test_without_history_a_metric_is_verified_against_its_threshold_and_says_so() -> None:
    choice = choose_baseline(
        PROFILE,
        {"error-rate": quiet_then_red(0)},  # RED from the first point: nothing before it
        {
            "p99": "no history: Prometheus at http://127.0.0.1:9090: cannot connect",
            "ready": "no history",
        },
        None,
    )
    assert choice.red is not None and choice.red.from_first
    assert choice.metrics["error-rate"].value is None
    assert choice.metrics["error-rate"].why == (
        "verified against the threshold (no history in the 60 s before the incident)"
    )
    assert choice.metrics["ready"].why == "verified against the threshold (no history)"
    assert choice.metrics["p99"].why.startswith("verified against the threshold (no history: ")
    nothing = choose_baseline(PROFILE, {"error-rate": [(T, 0.2)]}, {}, None)
    assert nothing.source == "none"
    assert "no RED stretch" in nothing.metrics["error-rate"].why


# ---------------------------------------------------------------- through the engine


def incident(data: dict[str, Any] | None = None, baseline_at: float | None = None) -> Sim:
    sim = Sim(data or incident_data())
    sim.do(
        i.StartSession(
            OPERATOR,
            T,
            sim.profile_data,
            "",
            "p",
            "ada",
            "grace",
            kind="incident",
            baseline_at=baseline_at,
        )
    )
    return sim


def history(sim: Sim, metric_id: str, points: list[Any], error: str | None = None) -> None:
    sim.do(i.RecordHistory(SYSTEM, T, metric_id, T - 900, T, 10.0, tuple(points), error))


def test_take_baseline_records_the_choice_and_replay_equals_live() -> None:
    sim = incident()
    history(sim, "error-rate", quiet_then_red(42))
    history(sim, "p99", [], "Prometheus at http://127.0.0.1:9090: cannot connect")
    history(sim, "ready", [], "no history (http source)")
    (event,) = sim.do(i.TakeBaseline(SYSTEM, T))
    assert event.kind == Kind.BASELINE_TAKEN
    assert event.body["source"] == "red-stretch"
    assert event.body["red"] == {
        "metric": "error-rate",
        "start": T - 600 + 420,
        "from_first": False,
    }
    assert sim.state.baseline == {"error-rate": pytest.approx(0.2)}
    metrics = event.body["metrics"]
    assert metrics["ready"]["why"] == "verified against the threshold (no history)"
    assert metrics["p99"]["why"] == (
        "verified against the threshold (no history: Prometheus at http://127.0.0.1:9090:"
        " cannot connect)"
    )
    assert sim.state.incident is not None and sim.state.incident.red_since == T - 600 + 420
    assert replay(sim.events) == sim.state
    assert "already taken" in sim.refused(i.TakeBaseline(SYSTEM, T))


def test_a_deploy_takes_its_baseline_at_go() -> None:
    sim = Sim(demo_data())
    sim.start()
    assert "at GO" in sim.refused(i.TakeBaseline(SYSTEM, T))


def test_a_baseline_time_before_the_history_uses_what_was_read_for_it() -> None:
    sim = incident(baseline_at=T - 3600)
    history(sim, "error-rate", quiet_then_red(10))
    before = tuple((T - 3600 - 30 + n, 0.4) for n in range(30))
    sim.do(i.TakeBaseline(SYSTEM, T, (("error-rate", before),)))
    assert sim.state.baseline["error-rate"] == pytest.approx(0.4)


def test_verification_waits_for_the_baseline_and_judges_against_it() -> None:
    sim = incident()
    history(sim, "error-rate", quiet_then_red(42))
    sim.do(i.RollBackNow(OPERATOR, T + 1))
    sim.do(i.ProcessStarted(OPERATOR, T + 1, "rollback", "0", 8, 8, "/tmp/rb"))
    sim.do(i.ProcessExited(OPERATOR, T + 2, "rollback", "0", 0))
    for n in range(3, 7):  # inside the threshold, but the baseline is not known yet
        sim.at(n)
        sim.metrics(Status.PASS, 1.5)
    assert sim.phase() is Phase.VERIFYING
    sim.do(i.TakeBaseline(SYSTEM, sim.at(7)))
    for n in range(8, 12):  # 1.5 % is inside < 2 %, but not within 0.5 of the baseline 0.2 %
        sim.at(n)
        sim.metrics(Status.PASS, 1.5)
    assert sim.phase() is Phase.VERIFYING
    for n in range(12, 16):
        sim.at(n)
        sim.metrics(Status.PASS, 0.3)
    assert sim.phase() is Phase.STABILIZING
    verdict = next(e for e in sim.events if e.kind == Kind.ROLLBACK_VERIFIED)
    assert verdict.body["comparison"]["error-rate"]["against"] == "history"
    assert verdict.body["comparison"]["ready"]["against"] == "threshold"


def test_no_baseline_in_time_is_not_verified_and_says_why() -> None:
    sim = incident()
    sim.do(i.RollBackNow(OPERATOR, T))
    sim.do(i.ProcessExited(OPERATOR, T + 1, "rollback", "0", 0))
    events = sim.do(i.Tick(OPERATOR, T + 1 + PROFILE.rollback.verify.within))
    assert [e.kind for e in events] == [Kind.ROLLBACK_NOT_VERIFIED]
    assert events[0].body["differences"] == [
        "no baseline: the history from before the incident was not read in time"
    ]


# ---------------------------------------------------------------- the rule, in words


def metric(**threshold: float) -> Metric:
    return Metric.model_validate(
        {"id": "m", "title": "M", "unit": "%", "source": PROMETHEUS, "threshold": threshold}
    )


def window_with(value: float | None, status: Status, at: float, passes: int = 0) -> MetricWindow:
    window = MetricWindow(consecutive_passes=passes)
    window.last = Sample("m", status, value, "%", at, "detail")
    return window


def test_not_back_says_which_condition_failed() -> None:
    above = metric(above=90)
    assert why_not_back(above, window_with(84, Status.FAIL, T), 100.0, 20.0, T) == (
        "now 84 %: fails its threshold > 90 %"
    )
    below = metric(below=2)
    assert why_not_back(below, window_with(1.5, Status.PASS, T), 0.2, 0.5, T) == (
        "now 1.5 %: not back at its baseline: needs ≤ 0.7 % (the baseline 0.2 % + 0.5)"
    )
    assert why_not_back(below, window_with(0.3, Status.PASS, T, 1), 0.2, 0.5, T) == (
        "now 0.3 %: 1 of 3 fresh passes in a row"
    )
    assert why_not_back(below, window_with(0.3, Status.PASS, T - 30, 1), 0.2, 0.5, T) == (
        "no fresh sample for 30 s"
    )
    assert why_not_back(below, MetricWindow(), 0.2, 0.5, T) == (
        "no sample since the verification began"
    )
    assert why_not_back(below, window_with(None, Status.ERROR, T), None, None, T) == (
        "ERROR: detail"
    )


def test_the_rule_is_stated_with_its_numbers() -> None:
    assert back_rule(metric(below=2), 0.2, 0.5) == (
        "< 2 % and ≤ 0.7 % (the baseline 0.2 % + 0.5), 3 fresh passes in a row"
    )
    assert back_rule(metric(above=5), None, None) == (
        "> 5 % (no baseline: the threshold alone), 3 fresh passes in a row"
    )


def test_a_state_without_session_refuses() -> None:
    with pytest.raises(Refusal, match="no session"):
        decide(State(), i.TakeBaseline(SYSTEM, T))
