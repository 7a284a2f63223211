"""A replay's memory does not grow with the journal it replays.

The journals are written by the real session (``Session``, ``Recorder``, ``Batcher``,
``Journal``: one record and one fsync per second) on a fake clock, in a health window with
every sample judged, as ``benchmarks/journal_long.py`` writes its day-long one; here two
lengths, one four times the other. The replay opens each, goes to its end and steps back,
and what it holds is counted: the journal's records still alive, and the bytes Python
allocated for it (tracemalloc). Holding every record (1.1 GB for a day, measured) makes
both grow with the length; a replay that reads its records again from the file holds as
many at both lengths.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from cockpit.journal import Record
from cockpit.replay import ReplaySession

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SHORT, LONG = 300, 1200
"""Seconds of health window (records of samples) in the two journals."""


def _long_session() -> Any:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    import journal_long  # a benchmark's generator: the real writer on a fake clock

    return journal_long.LongSession


def _journal(work: Path, seconds: int) -> Path:
    """A journal of a session that sat ``seconds`` in its health window, 4 metrics at 1 Hz."""

    async def write() -> Path:
        long = _long_session()(work, 4)
        session = await long.start()
        while long.second < seconds:
            long.one_second()
        path: Path = session.journal_path
        await session.close()
        return path

    return asyncio.run(write())


def _held(journal: Path) -> tuple[int, int]:
    """What a replay of ``journal`` holds after going to its end and stepping back: records
    alive, and bytes allocated (beyond what was allocated before it opened)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        session = ReplaySession.open(journal, prometheus=False)
        replayer = session.replayer
        replayer.go_to_record(replayer.last)
        for _ in range(3):
            replayer.step(-1)
        gc.collect()
        records = sum(1 for o in gc.get_objects() if type(o) is Record)
        allocated = tracemalloc.get_traced_memory()[0] - before
        assert replayer.position == replayer.last - 3
    finally:
        tracemalloc.stop()
    del session
    return records, allocated


@pytest.mark.xdist_group("replay_memory")
def test_a_replay_holds_as_much_of_a_long_journal_as_of_a_short_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At most 4 checkpoints at least 16 records apart: both journals reach that bound, as a
    # day-long one reaches the real one (32).
    monkeypatch.setattr("cockpit.replay.CHECKPOINT_EVERY", 16)
    monkeypatch.setattr("cockpit.replay.MAX_CHECKPOINTS", 4, raising=False)
    short = _journal(tmp_path / "short", SHORT)
    long = _journal(tmp_path / "long", LONG)
    short_records, short_bytes = _held(short)
    long_records, long_bytes = _held(long)
    # The records it keeps are the session's landmarks (GO, the step, the windows...), the
    # same in both journals; holding them all would be 300 against 1,200.
    assert long_records == short_records < 50, (short_records, long_records)
    # Its checkpoints are bounded too: four times the journal, not four times the memory.
    assert long_bytes < 1.5 * short_bytes, (short_bytes, long_bytes)
