"""A long session costs time, not memory: the writer keeps no records, and every reader of a
journal (verify, report, watch, resume, sessions) holds about as much for a journal eight times
longer. Measured with tracemalloc on small journals; the figures for a day are printed by
``benchmarks/journal_long.py``."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from cockpit.evidence import write_evidence
from cockpit.journal import Actor, Journal, lines, verify_journal
from cockpit.session import Session
from cockpit.session_list import summarise
from cockpit.watch import WatchedSession
from tests.unit.test_evidence import Recorder

WHO = Actor(role="system", user="cockpit", tty=None)
SHORT = 250
"""Seconds of samples in the short journal; the long one has eight times as many."""


def _peak(read: Callable[[], object]) -> int:
    """The most memory ``read`` held at once, in bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _session(path: Path, seconds: int) -> Path:
    """A session journal: GO, a step, its stop point and health window, then ``seconds``
    seconds of four metrics, as the cockpit records them."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.with_suffix("").mkdir(mode=0o700)
    with Journal.open(path) as journal:
        rec = Recorder(journal)
        rec.to_execution()
        rec.run_step()
        for n in range(81, 81 + seconds):
            rec.second(n)
            rec.flush()
    return path


def test_the_journal_keeps_nothing_of_the_records_it_appends(tmp_path: Path) -> None:
    body = {"m-000": [{"id": "m-000", "status": "PASS", "value": 0.5, "detail": "x" * 900}]}
    with Journal.open(tmp_path / "s.jsonl", fsync=lambda fd: None) as journal:
        for n in range(20):
            journal.append("samples", body, actor=WHO, wall=1000.0 + n)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for n in range(2000):
                journal.append("samples", body, actor=WHO, wall=2000.0 + n)
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert journal.last_seq == 2020
    assert kept < 64 * 1024, f"{kept} bytes kept for 2000 records of 1 KB"


ENVIRON = {"COCKPIT_DEMO_URL": "http://127.0.0.1:9", "COCKPIT_DEMO_STATE": "/nonexistent"}
READERS: dict[str, Callable[[Path, Path], object]] = {
    "verify": lambda journal, out: verify_journal(journal),
    "report": write_evidence,
    "watch": lambda journal, out: WatchedSession.watch(journal),
    "resume": lambda journal, out: Session.resume(journal, environ=ENVIRON).journal.close(),
    "sessions": lambda journal, out: summarise(journal),
}


@pytest.mark.parametrize("reader", list(READERS))
def test_a_reader_holds_about_as_much_for_a_journal_eight_times_longer(
    tmp_path: Path, reader: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reading holds a chunk or two at a time (1 MiB each): smaller ones, for small journals.
    monkeypatch.setattr(lines, "CHUNK", 16 * 1024)
    short = _session(tmp_path / "sessions" / "20270115T080000Z-short-0001.jsonl", SHORT)
    long = _session(tmp_path / "sessions" / "20270115T080000Z-long-0002.jsonl", 8 * SHORT)
    assert long.stat().st_size > 7 * short.stat().st_size
    read = READERS[reader]
    short_peak = _peak(lambda: read(short, tmp_path / "out-short"))
    long_peak = _peak(lambda: read(long, tmp_path / "out-long"))
    # Holding the records (or the file) costs several times the file: eight times as much.
    assert long_peak < 1.5 * short_peak, (reader, short_peak, long_peak)
