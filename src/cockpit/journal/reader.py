"""Read and verify a journal without changing it.

Where the first bad sequence number points, by kind of damage (the tests pin each one):

* a changed byte in record *k*: *k* (its hash, its canonical form or its JSON breaks);
* record *k* deleted: *k*, the sequence number expected at the position where the next record
  now sits (it says ``seq`` *k+1* there, or if renumbered its ``prev`` does not match);
* records *k* and *k+1* swapped: *k*;
* record *k* edited and *k* .. end re-chained with valid hashes: *k*, from the anchor file
  (see ``cockpit.journal.anchors``);
* whole records cut off the end: the first missing one, from the anchor file;
* a torn last line (no newline at the end, or a last line that does not parse): the sequence
  number it would have had, reported as ``torn_tail`` because ``Journal.open`` repairs it,
  unless the anchor file shows that record was durable, which makes it damage.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from cockpit.files import FileRefused, read_regular_file
from cockpit.journal.anchors import Anchors, anchors_path_for, parse_anchors
from cockpit.journal.errors import JournalDamaged, JournalUnreadable
from cockpit.journal.records import GENESIS_PREV, BadLine, Record, chain_hash, parse_line

_RECORD_START = b'{"actor":'


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify_journal`` found.

    Attributes:
        ok: The whole file verifies.
        count: Records that verify, all before ``first_bad_seq``.
        first_bad_seq: The first sequence number that cannot be trusted, or None.
        reason: Why, in words, or None.
        torn_tail: The only damage is a torn last line, which ``Journal.open`` repairs.
        anchored: Records the anchor file vouches for; None when there is no anchor file, so
            an edit re-chained from some record on would go unnoticed.
    """

    ok: bool
    count: int
    first_bad_seq: int | None
    reason: str | None
    torn_tail: bool
    anchored: int | None = None


@dataclass(frozen=True)
class Scan:
    """The result of checking a journal's bytes (internal to the journal package).

    Attributes:
        records: Records that verify, in order.
        good_length: Bytes of the file those records take up.
        first_bad_seq: First sequence number that cannot be trusted, or None.
        reason: Why, or None.
        torn_tail: The only damage is a torn last line.
        anchors: The parsed anchor file, or None if there is none.
    """

    records: list[Record]
    good_length: int
    first_bad_seq: int | None
    reason: str | None
    torn_tail: bool
    anchors: Anchors | None

    def anchored_count(self) -> int | None:
        """How many verified records the anchor file vouches for, or None without one."""
        if self.anchors is None:
            return None
        return sum(1 for seq in self.anchors.hashes if seq <= len(self.records))


JOURNAL_SIZE_LIMIT = 1 << 30
"""The largest journal (and anchor file) read: 1 GiB, about ten days of one-second samples.

Bigger is no journal this cockpit wrote, and reading it would exhaust memory first."""


def read_bytes(path: Path, *, missing_ok: bool = False) -> bytes | None:
    """Read a whole regular file without blocking on a FIFO or device.

    Raises:
        JournalUnreadable: missing (unless ``missing_ok``), not a regular file, larger than
            ``JOURNAL_SIZE_LIMIT``, no permission.
    """
    try:
        return read_regular_file(path, JOURNAL_SIZE_LIMIT, what="journal file")
    except FileRefused as exc:
        if exc.errno == errno.ENOENT:
            if missing_ok:
                return None
            raise JournalUnreadable(path, "no such file") from None
        raise JournalUnreadable(path, exc.reason) from None


def _could_be_torn(line: bytes) -> bool:
    """Whether a bad last line could be what a crash leaves: the start of one record.

    One ``os.write`` per record means a crash leaves a prefix of a record line. Some
    filesystems also show zeros where data had not reached the disk. A line that does not begin
    like a record, or holds the start of a second one (a lost newline), was damaged otherwise.
    """
    start = line.rstrip(b"\0")
    if _RECORD_START in start[1:]:
        return False
    return start.startswith(_RECORD_START) or _RECORD_START.startswith(start)


def _looks_like_journal(lines: list[bytes], remainder: bytes) -> bool:
    for line in lines[1:100]:
        try:
            parse_line(line)
        except BadLine:
            continue
        return True
    first = lines[0] if lines else remainder
    return first.startswith(_RECORD_START) or (
        len(lines) <= 1 and bool(first) and _could_be_torn(first)
    )


def scan_journal(
    path: Path,
    data: bytes,
    anchors: Anchors | None,
    expected_head: tuple[int, str] | None = None,
) -> Scan:
    """Verify a journal's bytes against its chain, its anchors and an optional expected head.

    Raises:
        JournalUnreadable: not a single line of the file is a journal record.
    """
    lines = data.split(b"\n")
    remainder = lines.pop()  # b"" when the file ends with a newline
    records: list[Record] = []
    prev = GENESIS_PREV
    good_length = 0
    first_bad: int | None = None
    reason: str | None = None
    torn = False
    for index, line in enumerate(lines):
        expected = index + 1
        try:
            record, payload = parse_line(line)
        except BadLine as exc:
            first_bad = expected
            if index == len(lines) - 1 and not remainder and _could_be_torn(line):
                torn = True
                reason = f"torn last line, a crash mid-write ({exc})"
            else:
                reason = f"line is {exc}"
            break
        if record.seq != expected:
            first_bad = expected
            reason = (
                f"sequence number {record.seq} where {expected} belongs"
                " (a record was removed, inserted or reordered)"
            )
            break
        if record.prev != prev:
            first_bad = expected
            reason = (
                f"prev is not the hash of record {expected - 1}"
                " (a record was removed, inserted or reordered)"
            )
            break
        if chain_hash(prev, payload) != record.hash:
            first_bad = expected
            reason = "hash does not match the content (the record was changed after writing)"
            break
        records.append(record)
        prev = record.hash
        good_length += len(line) + 1
    else:
        if remainder:
            first_bad = len(records) + 1
            torn = _could_be_torn(remainder)
            if torn:
                reason = "torn last line, a crash mid-write (no newline at the end)"
            else:
                reason = "last line has no newline and is not the start of a record"

    if not records and first_bad is not None and not _looks_like_journal(lines, remainder):
        raise JournalUnreadable(path, "not a cockpit journal (no line is a journal record)")

    witnesses: list[tuple[int, str, str]] = []
    if anchors is not None:
        witnesses.extend((seq, digest, "anchor file") for seq, digest in anchors.hashes.items())
        if anchors.damaged_after is not None and (
            first_bad is None or anchors.damaged_after < first_bad
        ):
            first_bad = anchors.damaged_after + 1
            reason = (
                f"the anchor file has a malformed line after the anchor of record"
                f" {anchors.damaged_after} (it was edited)"
            )
            torn = False
    if expected_head is not None:
        witnesses.append((expected_head[0], expected_head[1], "expected head"))
    for seq, digest, source in sorted(witnesses):
        if first_bad is not None and seq >= first_bad and not torn:
            break
        if seq <= len(records):
            if records[seq - 1].hash != digest:
                first_bad = seq
                reason = (
                    f"hash differs from the {source}"
                    " (the record was changed and the chain after it recomputed)"
                )
                torn = False
                break
            continue
        first_bad = len(records) + 1
        torn = False
        if remainder or (lines and len(records) < len(lines)):
            reason = (
                f"last line is damaged, but the {source} shows record {seq} was durable"
                " (not a crash mid-write)"
            )
        else:
            reason = (
                f"missing: the {source} vouches for record {seq}, but the journal ends at"
                f" record {len(records)} (records were cut off)"
            )
        break

    if first_bad is not None:
        del records[first_bad - 1 :]
        good_length = sum(len(line) + 1 for line in lines[: len(records)])
    return Scan(records, good_length, first_bad, reason, torn, anchors)


def _load(path: Path, expected_head: tuple[int, str] | None) -> Scan:
    if not path.name:  # "", "." or "/": no file name to put the anchors beside
        raise JournalUnreadable(path, "is a directory, not a journal file")
    # The anchors first: the writer appends an anchor only after the record is in the journal,
    # so reading in this order never sees an anchor for a record it has not read.
    anchors_data = read_bytes(anchors_path_for(path), missing_ok=True)
    data = read_bytes(path)
    assert data is not None
    anchors = None if anchors_data is None else parse_anchors(anchors_data)
    return scan_journal(path, data, anchors, expected_head)


def read_journal(
    path: Path,
    *,
    allow_torn_tail: bool = False,
    expected_head: tuple[int, str] | None = None,
) -> list[Record]:
    """Read and verify a journal; never changes a file.

    A journal that another process is appending to may show its newest record half-written;
    read such a live journal with ``allow_torn_tail=True``.

    Args:
        path: The journal file.
        allow_torn_tail: Return the whole records before a torn last line instead of raising
            (for reading a crashed session without repairing it).
        expected_head: ``(seq, hash)`` of a record the caller saw before; it must still be there.

    Raises:
        JournalDamaged: the chain or its anchors do not verify, or the last line is torn.
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    scan = _load(path, expected_head)
    if scan.first_bad_seq is not None and not (scan.torn_tail and allow_torn_tail):
        assert scan.reason is not None
        raise JournalDamaged(path, scan.first_bad_seq, scan.reason, torn_tail=scan.torn_tail)
    return scan.records


def verify_journal(path: Path, *, expected_head: tuple[int, str] | None = None) -> VerifyReport:
    """Verify a journal and report the first bad sequence number; never changes a file.

    Raises:
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    return _report(_load(path, expected_head))


def read_verified_prefix(path: Path) -> tuple[list[Record], VerifyReport]:
    """The records that verify, up to the first bad one, and the report of what is wrong
    after them (for a replay, which shows what can be trusted and says where it stops);
    never changes a file.

    Raises:
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    scan = _load(path, None)
    return scan.records, _report(scan)


def _report(scan: Scan) -> VerifyReport:
    return VerifyReport(
        ok=scan.first_bad_seq is None,
        count=len(scan.records),
        first_bad_seq=scan.first_bad_seq,
        reason=scan.reason,
        torn_tail=scan.torn_tail,
        anchored=scan.anchored_count(),
    )
