"""The evidence of a long session is the same whichever way its samples are counted.

``load_session`` counts a day's 1.4 million samples without building a :class:`Seen` for
each (``_count_samples``). Here a session written by the real writer (as
``benchmarks/journal_long.py`` writes its day, on a fake clock, with errors, failures and
gaps among its samples) is reported both ways: with that counting, and with the one it
replaced (each sample a ``Seen``, handed to every window, minute and series through their
``add``). Every evidence file must be byte for byte the same.
"""

from __future__ import annotations

import asyncio
import csv
import io
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from cockpit.evidence import model
from cockpit.evidence.writer import render_evidence
from cockpit.journal import Record, iter_journal
from cockpit.sample import Sample, Status

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SECONDS = 900
"""Seconds of health window: 15 minutes of the health log."""


def _journal(work: Path) -> Path:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    import journal_long  # a benchmark's generator: the real writer on a fake clock

    class Mixed(journal_long.LongSession):
        """Once in the health window, some samples are errors, failures or missing."""

        mixed = False

        def one_second(self) -> None:
            if not self.mixed:
                super().one_second()
                return
            self.second += 1
            self.clock.advance(1.0)
            now = self.clock.wall()
            for n, metric_id in enumerate(self.ids):
                tick = self.second + 7 * n
                if tick % 97 == 0:
                    sample = Sample(metric_id, Status.ERROR, None, "%", now, "refused")
                elif tick % 131 == 0:
                    sample = Sample(metric_id, Status.FAIL, 80.0, "%", now, "80 %")
                elif tick % 53 == 0:
                    continue  # no sample this second
                else:
                    value = 0.2 + 0.01 * (tick % 17)
                    sample = Sample(metric_id, Status.PASS, value, "%", now - 0.5, f"{value} %")
                self.session.on_sample(sample)
            self.session.tick()
            self.session.flush()

    async def write() -> Path:
        long = Mixed(work, 4)
        session = await long.start()
        long.mixed = True
        while long.second < SECONDS:
            long.one_second()
        path: Path = session.journal_path
        await session.close()
        return path

    return asyncio.run(write())


def _count_each(
    record: Record,
    windows: list[model.JudgedWindow],
    minutes: dict[tuple[int, str], model.MetricSummary],
    live: dict[str, model.LiveSeries] | None,
) -> None:
    """The counting ``_count_samples`` replaced, as it was: a ``Seen`` per sample."""
    for sample in model._seen(record):
        for window in windows:
            window.add(sample)
        minute = (int(sample.measured_at // 60) * 60, sample.id)
        summary = minutes.get(minute)
        if summary is None:
            summary = minutes[minute] = model.MetricSummary()
        summary.add(sample)
        if live is not None:
            series = live.get(sample.id)
            if series is None:
                series = live[sample.id] = model.LiveSeries()
            series.add(sample.measured_at, sample.value)


def _evidence(journal: Path) -> Mapping[str, Any]:
    return render_evidence(model.load_session(iter_journal(journal), str(journal)))


def test_the_evidence_is_the_same_whichever_way_the_samples_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = _journal(tmp_path / "long")
    counted = _evidence(journal)
    monkeypatch.setattr(model, "_count_samples", _count_each)
    each = _evidence(journal)
    assert counted.keys() == each.keys()
    for name in counted:
        assert counted[name] == each[name], name
    rows = list(csv.DictReader(io.StringIO(counted["health-log.csv"])))
    assert len(rows) >= 4 * 15  # a row per metric and minute
    assert any(int(row["error"]) for row in rows) and any(int(row["fail"]) for row in rows)
    assert any(int(row["samples"]) < 60 for row in rows[4:-4])  # the gaps
