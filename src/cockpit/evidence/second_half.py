"""The second process of a long journal's report: it counts the samples of the journal's
second half into the judged windows and the minutes of the health log.

Run by ``cockpit.evidence.halves`` as ``python -I -c ... PATH OFFSET``; it writes one pickled
:class:`Half` to its standard output. It trusts nothing it reads: it verifies every line it
uses (the records from ``OFFSET`` on, chained one to the next, each line against its hash;
the records before that it reads) and hands back the sequence numbers and hashes of them, for
the first process to hold against the records it verified itself. Anything unexpected (damage,
a sample recorded on its own, an incident, a record that does not replay) is handed back as a
reason, and the first process then reads the whole journal itself, exactly as before.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from cockpit.engine import Fold
from cockpit.engine.kinds import Kind
from cockpit.evidence.model import (
    RECENT_BATCHES,
    JudgedWindow,
    MetricSummary,
    _count_samples,
    _seen,
    _Windows,
)
from cockpit.files import open_regular_file
from cockpit.journal.lines import CHUNK, Lines
from cockpit.journal.records import BadLine, Record, chain_fields, line_hash, parse_line


class Unexpected(Exception):
    """Something the second process does not count: the first process reads it all."""


@dataclass
class Half:
    """What the second process counted, and the records it counted them from."""

    reason: str | None = None
    """Why it counted nothing (then nothing else is set)."""
    decisions: list[tuple[int, str]] = field(default_factory=list)
    """Sequence number and hash of every record that is not a batch of samples, in order."""
    before: list[tuple[int, str]] = field(default_factory=list)
    """The batches just before ``start`` it read (to fill a window that opens just after)."""
    start: int = 0
    """The byte offset of its first record."""
    first: tuple[int, str] | None = None
    """Sequence number and ``prev`` of its first record (None: no record from ``start``)."""
    last: tuple[int, str] | None = None
    """Sequence number and hash of its last record."""
    windows: list[tuple[int, dict[str, MetricSummary]]] = field(default_factory=list)
    """Per judged window (the opening record's sequence number): its samples it counted."""
    minutes: dict[tuple[int, str], MetricSummary] = field(default_factory=dict)
    """The minutes of the health log it counted."""


def line_start(fd: int, offset: int) -> int:
    """The offset of the first line that starts at or after ``offset`` (the file's size if
    none does)."""
    if offset <= 0:
        return 0
    position = offset - 1
    os.lseek(fd, position, os.SEEK_SET)
    while True:
        chunk = os.read(fd, CHUNK)
        if not chunk:
            return position
        newline = chunk.find(b"\n")
        if newline >= 0:
            return position + newline + 1
        position += len(chunk)


def _verified(line: bytes) -> Record:
    try:
        record = parse_line(line)
    except BadLine as exc:
        raise Unexpected(f"a line is {exc}") from None
    if line_hash(line, record.prev) != record.hash:
        raise Unexpected(f"record {record.seq} does not match its hash")
    return record


def count_second_half(path: Path, offset: int) -> Half:
    """Count the samples of the records from the first line at or after ``offset``."""
    fd = open_regular_file(path, what="journal file")
    try:
        size = os.fstat(fd).st_size
        start = line_start(fd, offset)
        half = Half(start=start)
        fold = Fold()
        windows = _Windows()
        pending: deque[bytes] = deque(maxlen=RECENT_BATCHES)
        os.lseek(fd, 0, os.SEEK_SET)
        for line in Lines(fd, start):  # the first half: its decisions only
            fields = chain_fields(line)
            if fields is None:
                raise Unexpected("a line is not laid out as the writer lays it out")
            if fields[0] == Kind.SAMPLES:
                pending.append(line)
                continue
            _decision(_verified(line), fold, windows, half)
        recent: deque[Record] = deque(maxlen=RECENT_BATCHES)
        for line in pending:
            record = _verified(line)
            half.before.append((record.seq, record.hash))
            recent.append(record)
        os.lseek(fd, start, os.SEEK_SET)
        minutes = half.minutes
        previous: tuple[int, str] | None = None
        for line in Lines(fd, size - start):
            record = _verified(line)
            if previous is None:
                half.first = (record.seq, record.prev)
            elif record.seq != previous[0] + 1 or record.prev != previous[1]:
                raise Unexpected(f"record {record.seq} is not chained to the one before it")
            previous = (record.seq, record.hash)
            if record.kind == Kind.SAMPLES:
                recent.append(record)
                _count_samples(record, windows.windows, minutes, None)
                continue
            opened = _decision(record, fold, windows, half)
            if opened is not None:
                for batch in recent:
                    for sample in _seen(batch):
                        opened.add(sample)
        half.last = previous
    finally:
        os.close(fd)
    half.windows = [(w.opened.seq, w.samples) for w in windows.windows]
    return half


def _decision(record: Record, fold: Fold, windows: _Windows, half: Half) -> JudgedWindow | None:
    """Fold a record that is not a batch of samples in; returns a window it opened."""
    if record.kind == Kind.SAMPLE:
        raise Unexpected("a sample recorded on its own")
    half.decisions.append((record.seq, record.hash))
    fold.add(record)
    state = fold.state
    if state.is_incident:
        raise Unexpected("an incident (its live series are counted in order)")
    return windows.on_record(record, state)


def main(argv: list[str]) -> int:
    """``PATH OFFSET``: write the pickled :class:`Half` to standard output."""
    try:
        half = count_second_half(Path(argv[0]), int(argv[1]))
    except Exception as exc:  # anything: the first process reads it all itself
        half = Half(reason=f"{type(exc).__name__}: {exc}")
    sys.stdout.buffer.write(pickle.dumps(half, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0
