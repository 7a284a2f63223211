"""Random access to a journal's verified records, in memory that does not grow with it.

A replay moves back and forth over a journal that may be a day long: 86,400 records, 196 MB
on disk and 1.1 GB once parsed and held in a list (measured, 16 metrics at 1 Hz). The index
keeps, for every ``block``-th record, where its line starts, its wall time and the hash the
record before it had; a read goes back to the file for the lines it needs and verifies them
against those hashes again, so a byte changed after the index was built is damage, never a
fact. At most :data:`MAX_BLOCKS` entries are kept: past that, every other one is dropped and
the blocks are twice as long.

The records the caller keeps while the index is built (``keep``: the few that mark a
session's course, never its samples) are all it holds of the journal itself.
"""

from __future__ import annotations

import bisect
import os
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

from cockpit.files import FileRefused, open_regular_file, os_reason
from cockpit.journal.errors import JournalDamaged, JournalUnreadable
from cockpit.journal.reader import VerifyReport, scan_verified_prefix
from cockpit.journal.records import (
    BadLine,
    Record,
    chain_fields,
    line_hash,
    parse_line,
)

MAX_BLOCKS = 2048
"""Index entries kept at most (about 100 bytes each)."""
FIRST_BLOCK = 16
"""Records per block to begin with; doubled whenever there would be more than
:data:`MAX_BLOCKS` blocks (a day of 1 Hz records: 64, a read of about 150 KB)."""


class JournalIndex:
    """Where each block of a journal's verified records lies, and how to read them again.

    Attributes:
        path: The journal.
        count: Records that verified when the index was built (positions ``1 .. count``).
        block: Records per block.
        first: The first record.
        last: The last record that verified.
        kept: ``(position, record)`` of the records ``keep`` chose, in order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.block = FIRST_BLOCK
        self.kept: list[tuple[int, Record]] = []
        self._offsets = array("q")
        self._walls = array("d")
        self._prevs = bytearray()  # 32 bytes per block: the hash before its first record
        self._end = 0  # bytes of the verified records
        self._first: Record | None = None
        self._last: Record | None = None

    @classmethod
    def build(
        cls, path: Path, keep: Callable[[Record], bool] = lambda _: False
    ) -> tuple[JournalIndex, VerifyReport]:
        """Read and verify a journal once, indexing its records up to the first bad one.

        Raises:
            JournalUnreadable: missing, not a regular file, not readable or not a journal.
        """
        index = cls(path)
        report, index._end = scan_verified_prefix(path, index._add(keep))
        return index, report

    def _add(self, keep: Callable[[Record], bool]) -> Callable[[int, Record], None]:
        def add(offset: int, record: Record) -> None:
            self.count += 1
            if (self.count - 1) % self.block == 0:
                self._offsets.append(offset)
                self._walls.append(record.wall)
                self._prevs += bytes.fromhex(record.prev)
                if len(self._offsets) > MAX_BLOCKS:
                    self._halve()
            if self._first is None:
                self._first = record
            self._last = record
            if keep(record):
                self.kept.append((self.count, record))

        return add

    def _halve(self) -> None:
        self.block *= 2
        self._offsets = self._offsets[::2]
        self._walls = self._walls[::2]
        prevs = bytearray()
        for at in range(0, len(self._prevs), 64):
            prevs += self._prevs[at : at + 32]
        self._prevs = prevs

    # ------------------------------------------------------------ reading

    @property
    def first(self) -> Record:
        """The first record (an index has at least one)."""
        assert self._first is not None
        return self._first

    @property
    def last(self) -> Record:
        """The last record that verified."""
        assert self._last is not None
        return self._last

    @property
    def blocks(self) -> int:
        """Index entries held (at most :data:`MAX_BLOCKS`)."""
        return len(self._offsets)

    def read(self, start: int, stop: int) -> Iterator[Record]:
        """The records at positions ``start + 1 .. stop``, read from the file again, each
        block verified whole before any of its records is handed on.

        Raises:
            JournalDamaged: the file no longer holds the records the index was built from.
            JournalUnreadable: it cannot be read.
        """
        start, stop = max(0, start), min(self.count, stop)
        if start >= stop:
            return
        try:
            fd = open_regular_file(self.path, what="journal file")
        except FileRefused as exc:
            raise JournalUnreadable(self.path, exc.reason) from None
        try:
            for block in range(start // self.block, (stop - 1) // self.block + 1):
                first = block * self.block  # records before the block
                lines = self._block_lines(fd, block)
                for line in lines[max(0, start - first) : stop - first]:
                    yield parse_line(line)
        except OSError as exc:
            raise JournalUnreadable(self.path, os_reason(exc)) from None
        finally:
            os.close(fd)

    def count_at_or_before(self, wall: float) -> int:
        """How many records have a wall time at or before ``wall`` (the records are in time
        order: a bisection over the blocks, then over the records of one)."""
        block = bisect.bisect_right(self._walls, wall) - 1
        if block < 0:
            return 0
        first = block * self.block
        walls = [r.wall for r in self.read(first, min(self.count, first + self.block))]
        return first + bisect.bisect_right(walls, wall)

    def _block_lines(self, fd: int, block: int) -> list[bytes]:
        """The lines of one block, their chain verified from the hash before it to the hash
        the next block starts from (the last record's, for the last block)."""
        begin = self._offsets[block]
        end = self._offsets[block + 1] if block + 1 < len(self._offsets) else self._end
        data = os.pread(fd, end - begin, begin)
        lines = data.split(b"\n")
        first = block * self.block
        expected = min(self.block, self.count - first)
        if len(data) != end - begin or lines.pop() != b"" or len(lines) != expected:
            raise self._changed(first + 1)
        prev = self._prevs[block * 32 : block * 32 + 32].hex()
        for n, line in enumerate(lines, start=first + 1):
            digest = _verified_hash(line, n, prev)
            if digest is None:
                raise self._changed(n)
            prev = digest
        after = (
            self._prevs[(block + 1) * 32 : (block + 2) * 32].hex()
            if block + 1 < len(self._offsets)
            else self.last.hash
        )
        if prev != after:
            raise self._changed(first + expected)
        return lines

    def _changed(self, seq: int) -> JournalDamaged:
        return JournalDamaged(self.path, seq, "the journal changed after the replay verified it")


def _verified_hash(line: bytes, seq: int, prev: str) -> str | None:
    """The record's hash if ``line`` is record ``seq`` chained to ``prev``; else None."""
    fields = chain_fields(line)
    if fields is not None:
        _, line_seq, line_prev, digest = fields
    else:
        try:
            record = parse_line(line)
        except BadLine:
            return None
        line_seq, line_prev, digest = record.seq, record.prev, record.hash
    if line_seq != seq or line_prev != prev or line_hash(line, prev) != digest:
        return None
    return digest


__all__ = ["FIRST_BLOCK", "MAX_BLOCKS", "JournalIndex"]
