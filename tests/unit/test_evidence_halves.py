"""A long journal's report on two cores says exactly what one core says.

``read_session`` counts the second half of a journal's samples in a second process and merges
its counts after the first half's. Here journals are split at many places (windows that open,
close and are re-filled on either side; a rollback verified in the second half) and every
evidence file must be byte for byte what reading on one core writes; damage, an incident and
a record that does not replay are read on one core, and say what they said before.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cockpit.evidence import halves, model
from cockpit.evidence.model import MetricSummary, NotASession, load_session
from cockpit.evidence.writer import render_evidence
from cockpit.journal import JournalDamaged, iter_journal
from cockpit.journal.records import encode_record
from cockpit.sample import Status
from tests.unit.test_evidence import OPERATOR, T, complete_session, flip_byte, rolled_back_session
from tests.unit.test_incident_report import incident_session


def _one_core(path: Path) -> dict[str, str]:
    return render_evidence(load_session(iter_journal(path), str(path)))


def _offsets(path: Path, parts: int) -> list[int]:
    size = path.stat().st_size
    return [size * n // parts for n in range(1, parts)]


@pytest.fixture
def rolled_back(tmp_path: Path) -> Path:
    path = tmp_path / "rolled-back.jsonl"
    rolled_back_session(path)
    return path


def test_split_anywhere_the_evidence_is_byte_for_byte_the_same(
    rolled_back: Path, tmp_path: Path
) -> None:
    complete = tmp_path / "complete.jsonl"
    complete_session(complete)
    for path in (rolled_back, complete):
        expected = _one_core(path)
        for offset in _offsets(path, 9):
            session = halves._in_two(path, offset)
            assert session is not None, (path.name, offset)
            assert render_evidence(session) == expected, (path.name, offset)


def test_the_second_half_is_not_parsed_here_unless_a_rollback_is_verified(
    rolled_back: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This process parses the second half's batches only while the fold judges them."""
    parsed: list[str] = []
    real = model.Loader.add

    def add(self: model.Loader, record: Any, *, counted: bool = False) -> None:
        if counted and record.kind == "samples":
            parsed.append("verifying" if self.fold.verifying else "not verifying")
        real(self, record, counted=counted)

    monkeypatch.setattr(model.Loader, "add", add)
    lines = rolled_back.read_bytes().splitlines(keepends=True)
    first_batch = next(n for n, line in enumerate(lines) if b'"kind":"samples"' in line)
    offset = sum(map(len, lines[: first_batch + 1]))
    assert halves._in_two(rolled_back, offset) is not None
    assert parsed and set(parsed) == {"verifying"}


def test_a_damaged_journal_is_read_on_one_core_and_refused_as_before(rolled_back: Path) -> None:
    count = len(rolled_back.read_bytes().splitlines())
    flip_byte(rolled_back, count - 3)  # in the second half: a batch this process skips
    with pytest.raises(JournalDamaged) as one:
        load_session(iter_journal(rolled_back), str(rolled_back))
    with pytest.raises(JournalDamaged) as two:
        halves.read_session(rolled_back, split_bytes=0)
    assert one.value.seq == count - 3
    assert (two.value.seq, str(two.value)) == (one.value.seq, str(one.value))
    assert halves._in_two(rolled_back, rolled_back.stat().st_size // 2) is None


def _append_raw(path: Path, kind: str, body: dict[str, Any]) -> None:
    """Append a record as the writer lays it out, whatever its body (hash-valid)."""
    lines = path.read_bytes().splitlines()
    last = json.loads(lines[-1])
    _, line = encode_record(
        seq=last["seq"] + 1,
        wall=T + 999,
        t_plus=None,
        actor=OPERATOR,
        kind=kind,
        body=body,
        prev=last["hash"],
    )
    with path.open("ab") as file:
        file.write(line)
    path.with_name(path.name + ".anchors").unlink(missing_ok=True)


def test_a_batch_that_does_not_replay_is_named_as_the_fold_names_it(rolled_back: Path) -> None:
    """The fold reads a batch first: its error is the one named (the evidence's counting
    would have stumbled on another item before it)."""
    at = T + 998
    bad_value = {"id": "error-rate", "status": "FAIL", "value": "x", "at": at, "unit": "%"}
    no_id = {"status": "PASS", "value": 1.0, "at": at, "unit": "%"}
    _append_raw(rolled_back, "samples", {"error-rate": [bad_value], "p99": [no_id]})
    with pytest.raises(NotASession, match=r"does not replay: KeyError: 'id'"):
        load_session(iter_journal(rolled_back), str(rolled_back))
    with pytest.raises(NotASession, match=r"does not replay: KeyError: 'id'"):
        halves.read_session(rolled_back, split_bytes=0)


def test_a_sample_recorded_on_its_own_is_counted_on_one_core(rolled_back: Path) -> None:
    sample = {"id": "p99", "status": "PASS", "value": 1.0, "at": T + 998, "unit": "ms"}
    _append_raw(rolled_back, "sample", sample)
    for offset in _offsets(rolled_back, 4):
        assert halves._in_two(rolled_back, offset) is None
    session = halves.read_session(rolled_back, split_bytes=0)
    assert render_evidence(session) == _one_core(rolled_back)


def test_a_summary_merged_is_the_summary_counted_one_by_one() -> None:
    statuses = [Status.PASS, Status.FAIL, Status.PASS, Status.ERROR, Status.INCONCLUSIVE]
    samples = [
        (statuses[n % 5], None if n % 7 == 0 else float((n * 37) % 11) - 5.0, 100.0 - n % 13)
        for n in range(60)
    ]
    for cut in range(len(samples) + 1):
        whole, first, second = MetricSummary(), MetricSummary(), MetricSummary()
        for n, (status, value, at) in enumerate(samples):
            item = {"n": n}
            whole.count_in(status, value, at, item)
            (first if n < cut else second).count_in(status, value, at, item)
        first.merge(second)
        assert first == whole
        assert list(first.statuses) == list(whole.statuses)
        assert isinstance(first.statuses, Counter)


def test_an_incident_is_read_on_one_core(tmp_path: Path) -> None:
    """Its live series are binned in order: they cannot be merged."""
    path = tmp_path / "incident.jsonl"
    incident_session(path)
    assert halves._in_two(path, path.stat().st_size // 2) is None
    assert render_evidence(halves.read_session(path, split_bytes=0)) == _one_core(path)


def test_a_reading_given_up_half_way_leaves_no_file_or_pipe_open(rolled_back: Path) -> None:
    """Whatever stops the reading in two (a sample on its own, a damaged record), the journal
    and the second process's pipe are closed then, not left for the garbage collector."""
    import gc
    import warnings

    sample = {"id": "p99", "status": "PASS", "value": 1.0, "at": T + 998, "unit": "ms"}
    _append_raw(rolled_back, "sample", sample)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for offset in _offsets(rolled_back, 4):
            assert halves._in_two(rolled_back, offset) is None
        flip_byte(rolled_back, len(rolled_back.read_bytes().splitlines()) - 3)
        assert halves._in_two(rolled_back, rolled_back.stat().st_size // 2) is None
        gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
