"""Judging a sample from what the window keeps (``WindowJudge``) decides exactly what judging
every metric decides, whatever the samples do: fail, err, go stale, come back."""

from __future__ import annotations

import contextlib
import math
import random
from pathlib import Path

import pytest

from cockpit.engine import SYSTEM, Refusal, decide
from cockpit.engine import intents as i
from cockpit.engine.state import State, WindowJudge
from cockpit.engine.verdict import standing
from cockpit.journal import Journal
from cockpit.sample import Sample, Status
from tests.unit.test_baseline import incident_data
from tests.unit.test_evidence import GOOD, MONITOR, OPERATOR, UNITS, Recorder, T


def _recounted(state: State) -> WindowJudge:
    """The judge of the open window, counted from scratch."""
    assert state.window is not None and state.profile is not None
    judge = WindowJudge()
    for metric_id, counter in state.window.counters.items():
        metric = state.profile.metric(metric_id)
        verdict = standing(metric, counter)
        judge.failed += verdict.name == "FAILED"
        judge.inconclusive += verdict.name == "INCONCLUSIVE"
        judge.green += verdict.name == "GREEN"
        judge.enough += counter.samples >= metric.pass_count
        if counter.last is not None:
            judge.deadlines[metric_id] = counter.last.measured_at + metric.staleness
    judge.fresh_until = min(judge.deadlines.values(), default=math.inf)
    judge.at_fresh_until = sum(d == judge.fresh_until for d in judge.deadlines.values())
    return judge


def _decided_by_every_metric(state: State, intent: i.Intent) -> list[object]:
    window = state.window
    kept = window.judge if window is not None else None
    if window is not None:
        window.judge = None  # decide is pure: nothing else changes
    try:
        return list(decide(state, intent))
    except Refusal as refusal:
        return [refusal.reason]
    finally:
        if window is not None:
            window.judge = kept


@pytest.mark.parametrize("seed", range(8))
def test_judging_from_the_judge_decides_what_judging_every_metric_does(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    statuses = [Status.PASS] * 12 + [Status.FAIL, Status.INCONCLUSIVE, Status.ERROR]
    judged = 0
    with Journal.open(tmp_path / "s.jsonl") as journal:
        rec = Recorder(journal)
        rec.to_execution()
        rec.run_step()
        seconds = 81.0
        while judged < 600 and rec.state.window is not None:
            seconds += rng.choice([0.25, 1.0, 1.0, 1.0, 4.999, 5.0, 9.0])
            now = rec.at(seconds)
            for metric_id in rng.sample(list(GOOD), rng.randint(1, len(GOOD))):
                feed_and_compare(rec, rng, statuses, now, metric_id, (seed, seconds))
                if rec.state.window is not None:
                    judged += 1
            if rng.random() < 0.05 and rec.state.window is not None:
                with contextlib.suppress(Refusal):  # only an INCONCLUSIVE stop point
                    rec.do(i.AcceptInconclusive(MONITOR, now, "a human looked"))
            rec.do(i.Tick(SYSTEM, now))
    assert judged >= 50, judged  # the window closes (passed, rolled back) on its own


def feed_and_compare(
    rec: Recorder,
    rng: random.Random,
    statuses: list[Status],
    now: float,
    metric_id: str,
    where: tuple[int, float],
) -> None:
    """One random sample of ``metric_id`` (failing, erring, late at random): what the rules
    decide equals judging every metric, and the window's judge equals a recount."""
    status = rng.choice(statuses)
    value = None if status is Status.ERROR else GOOD[metric_id]
    at = now - rng.choice([0.0, 0.0, 0.0, 0.5, 5.0])
    sample = Sample(metric_id, status, value, UNITS[metric_id], at, str(status))
    intent = i.RecordSample(SYSTEM, now, sample)
    expected = _decided_by_every_metric(rec.state, intent)
    try:
        events: list[object] = list(rec.do(intent))
    except Refusal as refusal:
        events = [refusal.reason]
    assert events == expected, (*where, metric_id)
    if rec.state.window is not None:
        assert rec.state.window.judge == _recounted(rec.state)


@pytest.mark.parametrize("seed", range(4))
def test_an_incidents_windows_are_judged_from_the_judge_as_from_every_metric(
    tmp_path: Path, seed: int
) -> None:
    """The incident's window (from T0, RED by design: only tracked) and, after the verified
    rollback, the stabilization window (judged while the rollback stands)."""
    rng = random.Random(seed)
    judged: dict[str, int] = {}
    with Journal.open(tmp_path / "s.jsonl") as journal:
        rec = Recorder(journal)
        rec.do(
            i.StartSession(
                OPERATOR, T, incident_data(), "f" * 64, "/p.toml", "ada", "grace", kind="incident"
            )
        )
        rec.do(i.TakeBaseline(SYSTEM, rec.at(1)))
        seconds, rolled_back = 2.0, False
        while not rec.state.phase.finished and seconds < 600:
            seconds += rng.choice([0.25, 1.0, 1.0, 1.0, 4.999, 5.0])
            now = rec.at(seconds)
            # RED and erring before R; mostly back after it, so that it stabilizes (or not).
            bad = [Status.FAIL, Status.INCONCLUSIVE, Status.ERROR]
            statuses = [Status.PASS] * (3 if not rolled_back else 60) + bad
            for metric_id in rng.sample(list(GOOD), rng.randint(1, len(GOOD))):
                feed_and_compare(rec, rng, statuses, now, metric_id, (seed, seconds))
                window = rec.state.window
                if window is not None:
                    judged[window.kind] = judged.get(window.kind, 0) + 1
            if not rolled_back and seconds > 40:
                rec.do(i.RollBackNow(MONITOR, now, "R"))
                rec.do(i.ProcessStarted(SYSTEM, now, "rollback", "0", 4300, 4300, "/s/rb.out"))
                rec.do(i.ProcessExited(SYSTEM, now, "rollback", "0", 0, duration=1.0))
                rolled_back = True
            rec.do(i.Tick(SYSTEM, now))
    assert judged.get("incident", 0) >= 20 and judged.get("stabilization", 0) >= 20, judged
