"""Opening a journal folds its records (``engine.Fold``) without building an event and a
sample for each batched sample: the state must be the very state the events make."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from cockpit.engine import SYSTEM, Fold, State, apply_record, events_from_records, replay
from cockpit.engine import intents as i
from cockpit.engine.state import WindowJudge
from cockpit.journal import Journal, Record, read_journal
from cockpit.sample import Sample, Status
from tests.unit.test_evidence import (
    GOOD,
    MONITOR,
    UNITS,
    Recorder,
    T,
    complete_session,
    rolled_back_session,
)
from tests.unit.test_incident_report import incident_session


def _random_second(rec: Recorder, rng: random.Random, n: float) -> None:
    """A second of samples with any status, missing and far-off values, an unknown metric,
    and some measured before the second they are recorded in."""
    now = rec.at(n)
    for metric_id, good in GOOD.items():
        status = rng.choice([Status.PASS] * 5 + [Status.FAIL, Status.INCONCLUSIVE, Status.ERROR])
        value = None if status is Status.ERROR else good * rng.choice([0.5, 1.0, 1.02, 3.0])
        at = now - rng.choice([0.0, 0.0, 0.5, 30.0])
        sample = Sample(metric_id, status, value, UNITS[metric_id], at, f"{status} {value}")
        rec.do(i.RecordSample(SYSTEM, now, sample))
    rec.do(i.Tick(SYSTEM, now))


def random_session(path: Path, seed: int) -> Recorder:
    """A session whose samples are random: judged by its stop point, then by the rollback's
    verification against the baseline."""
    rng = random.Random(seed)
    with Journal.open(path) as journal:
        rec = Recorder(journal)
        rec.to_execution()
        rec.run_step()
        assert rec.state.window is not None
        _random_second(rec, rng, rec.state.window.started - T)  # measured as the window opens
        for n in range(81, 81 + rng.randint(5, 30)):
            _random_second(rec, rng, n)
            if rng.random() < 0.3:
                rec.flush()
        if rec.state.rollback is None:
            rec.do(i.RollBackNow(MONITOR, rec.at(120), "random"))
        rec.do(i.ProcessStarted(SYSTEM, rec.now, "rollback", "0", 4300, 4300, "/s/rb.out"))
        rec.do(i.ProcessExited(SYSTEM, rec.at(125), "rollback", "0", 0, duration=4.0))
        n = 126
        while not rec.state.phase.finished and n < 200:
            _random_second(rec, rng, n)
            n += 1
        rec.flush()
        return rec


SESSIONS: dict[str, Callable[[Path], Recorder]] = {
    "rolled back": rolled_back_session,
    "complete": complete_session,
    "incident": incident_session,
    **{f"random {seed}": functools.partial(random_session, seed=seed) for seed in range(6)},
}


def _replayed(records: list[Record]) -> State:
    return replay(events_from_records(records))


@pytest.mark.parametrize("name", list(SESSIONS))
def test_the_fold_of_the_records_is_the_state_their_events_make(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.jsonl"
    recorded = SESSIONS[name](path).state
    records = read_journal(path)
    fold = Fold()
    for record in records:
        fold.add(record)
    applied = State()
    for record in records:
        apply_record(applied, record)
    assert fold.state == applied == _replayed(records) == recorded
    for state in (fold.state, applied, recorded):  # the judge decide reads is the window's
        if state.window is not None:
            assert state.profile is not None
            assert state.window.judge == WindowJudge.of(state.window, state.profile)


@pytest.mark.parametrize("name", ["rolled back", "incident", "random 0", "random 1"])
def test_the_fold_is_the_state_of_the_events_after_every_record(tmp_path: Path, name: str) -> None:
    path = tmp_path / "s.jsonl"
    SESSIONS[name](path)
    records = read_journal(path)
    fold = Fold()
    for index, record in enumerate(records):
        fold.add(record)
        if record.kind == "samples" or index % 7 == 0:
            state = fold.state
            assert state == _replayed(records[: index + 1]), record.seq
            if state.window is not None:
                assert state.profile is not None
                assert state.window.judge == WindowJudge.of(state.window, state.profile)
