"""Read and verify a journal without changing it, a record at a time.

Readers stream: the journal and its anchor file are read a chunk at a time and each record is
verified and handed on as it is read, so a reader's memory does not grow with the journal (a
24-hour session of 16 metrics is 86,400 records, 280 MB). What a reader keeps is its own
business: ``cockpit verify`` keeps a count, a resume keeps the fold.

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

A reader hands on records before it has seen the end of the file: damage found later (a torn
or cut-off end) is raised after them, so a reader must not act on what it read until the
reading has finished without an error.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
from collections.abc import Callable, Generator, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from cockpit.files import FileRefused, open_regular_file, os_reason
from cockpit.journal.anchors import AnchorReader, anchors_path_for, format_anchor
from cockpit.journal.errors import JournalDamaged, JournalUnreadable
from cockpit.journal.lines import Lines, with_last
from cockpit.journal.records import (
    GENESIS_PREV,
    BadLine,
    Record,
    chain_fields,
    hash_mismatch,
    line_hash,
    parse_line,
)

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
    """What reading a journal found (internal to the journal package).

    Attributes:
        count: Records that verify, all before ``first_bad_seq``.
        last_hash: The hash of the last of them (``GENESIS_PREV`` if none).
        last_line: The line of the last of them, as read (``b""`` if none).
        good_length: Bytes of the file those records take up.
        first_bad_seq: First sequence number that cannot be trusted, or None.
        reason: Why, or None.
        torn_tail: The only damage is a torn last line.
        anchored: Verified records the anchor file vouches for; None without an anchor file.
        anchors_length: Bytes of the anchor file up to its last good line (a torn line lies
            beyond it).
        unanchored: Anchor lines for the verified records after the anchor file's last
            anchor (when asked for: a crash between a record and its anchor leaves a few).
    """

    count: int
    last_hash: str
    last_line: bytes
    good_length: int
    first_bad_seq: int | None
    reason: str | None
    torn_tail: bool
    anchored: int | None
    anchors_length: int
    unanchored: bytes = b""

    @classmethod
    def empty(cls) -> Scan:
        """The scan of an empty journal without an anchor file."""
        return cls(0, GENESIS_PREV, b"", 0, None, None, False, None, 0)

    def raise_damage(self, path: Path, *, allow_torn_tail: bool = False) -> None:
        """Raise :class:`JournalDamaged` unless the journal verified (or only its last line
        is torn and that is allowed)."""
        if self.first_bad_seq is not None and not (self.torn_tail and allow_torn_tail):
            assert self.reason is not None
            raise JournalDamaged(path, self.first_bad_seq, self.reason, torn_tail=self.torn_tail)


@contextlib.contextmanager
def _opened(path: Path, *, missing_ok: bool = False) -> Iterator[Lines | None]:
    """The lines of a regular file as big as it is now (it may grow while being read), or
    None for a missing one when ``missing_ok``.

    Raises:
        JournalUnreadable: missing (unless ``missing_ok``), not a regular file, no permission.
    """
    try:
        fd = open_regular_file(path, what="journal file")
    except FileRefused as exc:
        if exc.errno == errno.ENOENT:
            if missing_ok:
                yield None
                return
            raise JournalUnreadable(path, "no such file") from None
        raise JournalUnreadable(path, exc.reason) from None
    try:
        yield Lines(fd, os.fstat(fd).st_size)
    except OSError as exc:
        raise JournalUnreadable(path, os_reason(exc)) from None
    finally:
        os.close(fd)


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


def _looks_like_journal(first: bytes, following: list[bytes]) -> bool:
    """Whether a file whose first line is not a good record is a journal at all."""
    for line in following:
        try:
            parse_line(line)
        except BadLine:
            continue
        return True
    return first.startswith(_RECORD_START) or (
        not following and bool(first) and _could_be_torn(first)
    )


def _chained(line: bytes, seq: int, prev: str) -> tuple[str, str] | None:
    """For a record whose content a reader skips: its kind and hash, if its place in the chain
    verifies from its bytes alone (no JSON parsed); else None, and the line is parsed."""
    fields = chain_fields(line)
    if fields is None:
        return None
    kind, line_seq, line_prev, digest = fields
    if line_seq != seq or line_prev != prev or line_hash(line, prev) != digest:
        return None
    return kind, digest


def _records(
    path: Path,
    *,
    skip: AbstractSet[str] = frozenset(),
    skip_from: int = 0,
    skip_all: bool = False,
    unanchored: bool = False,
    expected_head: tuple[int, str] | None = None,
) -> Generator[tuple[int, Record], None, Scan]:
    """Verify a journal as it is read: yield each record that verifies with the byte offset
    of its line, return the scan.

    Args:
        path: The journal.
        expected_head: ``(seq, hash)`` of a record the caller saw before; it must still be there.
        skip: Kinds of record whose content nobody needs: their chain is verified from their
            bytes, and they are not parsed or yielded. Looked at for every line: a caller
            may change it between records.
        skip_from: Skip only lines that start at or after this byte offset.
        skip_all: Skip every kind (``cockpit verify``).
        unanchored: Collect anchor lines for the records after the last anchor (the writer
            catches up the anchor file with them).

    Raises:
        JournalUnreadable: the file cannot be read, or not a single line of it is a record.
    """
    if not path.name:  # "", "." or "/": no file name to put the anchors beside
        raise JournalUnreadable(path, "is a directory, not a journal file")
    # The anchor file first, as big as it is now: the writer appends an anchor only after its
    # record is in the journal, so this never sees an anchor for a record it does not read.
    with (
        _opened(anchors_path_for(path), missing_ok=True) as anchor_lines,
        _opened(path) as journal_lines,
    ):
        assert journal_lines is not None
        anchors = AnchorReader(anchor_lines)
        count = 0
        prev = GENESIS_PREV
        last_line = b""
        good_length = 0
        matched = 0
        missing = bytearray()
        first_bad: int | None = None
        reason: str | None = None
        torn = False
        lines = with_last(journal_lines)
        for line, is_last in lines:
            expected = count + 1
            bad_line: BadLine | None = None
            chain_reason: str | None = None
            record: Record | None = None
            digest: str
            skipping = (skip or skip_all) and good_length >= skip_from
            quick = _chained(line, expected, prev) if skipping else None
            if quick is not None and (skip_all or quick[0] in skip):
                digest = quick[1]
            else:
                try:
                    record = parse_line(line)
                    digest = record.hash
                    if record.seq != expected:
                        chain_reason = (
                            f"sequence number {record.seq} where {expected} belongs"
                            " (a record was removed, inserted or reordered)"
                        )
                    elif record.prev != prev:
                        chain_reason = (
                            f"prev is not the hash of record {expected - 1}"
                            " (a record was removed, inserted or reordered)"
                        )
                    elif line_hash(line, prev) != record.hash:
                        chain_reason = hash_mismatch(line, record)
                except BadLine as exc:
                    bad_line = exc
            failed = bad_line is not None or chain_reason is not None
            if failed and count == 0:
                following = [later for later, _ in itertools.islice(lines, 99)]
                if not _looks_like_journal(line, following):
                    raise JournalUnreadable(
                        path, "not a cockpit journal (no line is a journal record)"
                    )
            anchor = anchors.peek()
            if anchors.damaged_after is not None:
                first_bad = anchors.damaged_after + 1
                reason = _malformed_anchor(anchors.damaged_after)
                break
            if failed:
                first_bad = expected
                if bad_line is None:
                    reason = chain_reason
                elif is_last and not journal_lines.remainder and _could_be_torn(line):
                    torn = True
                    reason = f"torn last line, a crash mid-write ({bad_line})"
                else:
                    reason = f"line is {bad_line}"
                break
            if anchor is not None and anchor[0] == expected:
                anchors.take()
                if anchor[1] != digest:
                    first_bad = expected
                    reason = (
                        "hash differs from the anchor file"
                        " (the record was changed and the chain after it recomputed)"
                    )
                    break
                matched += 1
            elif anchor is None and unanchored:
                missing += format_anchor(expected, digest)
            if expected_head is not None and expected_head[0] == expected:
                if expected_head[1] != digest:
                    first_bad = expected
                    reason = (
                        "hash differs from the expected head"
                        " (the record was changed and the chain after it recomputed)"
                    )
                    break
            count = expected
            prev = digest
            last_line = line
            offset = good_length
            good_length += len(line) + 1
            if record is not None:
                yield offset, record
        else:
            remainder = journal_lines.remainder
            if remainder:
                first_bad = count + 1
                torn = _could_be_torn(remainder)
                if torn:
                    reason = "torn last line, a crash mid-write (no newline at the end)"
                else:
                    reason = "last line has no newline and is not the start of a record"
                if count == 0 and not _looks_like_journal(remainder, []):
                    raise JournalUnreadable(
                        path, "not a cockpit journal (no line is a journal record)"
                    )
        first_bad, reason, torn = _after_the_end(
            anchors,
            expected_head=expected_head,
            count=count,
            first_bad=first_bad,
            reason=reason,
            torn=torn,
        )
    return Scan(
        count=count,
        last_hash=prev,
        last_line=last_line,
        good_length=good_length,
        first_bad_seq=first_bad,
        reason=reason,
        torn_tail=torn,
        anchored=matched if anchors.present else None,
        anchors_length=anchors.good_length,
        unanchored=bytes(missing),
    )


def _malformed_anchor(after: int) -> str:
    return (
        f"the anchor file has a malformed line after the anchor of record {after} (it was edited)"
    )


def _after_the_end(
    anchors: AnchorReader,
    *,
    expected_head: tuple[int, str] | None,
    count: int,
    first_bad: int | None,
    reason: str | None,
    torn: bool,
) -> tuple[int | None, str | None, bool]:
    """What the witnesses of records past the journal's good ones say about its end."""
    anchor = anchors.peek()
    if anchors.damaged_after is not None and (
        first_bad is None or anchors.damaged_after < first_bad
    ):
        return anchors.damaged_after + 1, _malformed_anchor(anchors.damaged_after), False
    witnesses = [] if anchor is None else [(anchor[0], "anchor file")]
    if expected_head is not None and expected_head[0] > count:
        witnesses.append((expected_head[0], "expected head"))
    if not witnesses or (first_bad is not None and not torn):
        return first_bad, reason, torn
    seq, source = min(witnesses)
    if first_bad is not None:  # a torn last line, but its record was witnessed: durable
        return (
            count + 1,
            f"last line is damaged, but the {source} shows record {seq} was durable"
            " (not a crash mid-write)",
            False,
        )
    return (
        count + 1,
        f"missing: the {source} vouches for record {seq}, but the journal ends at"
        f" record {count} (records were cut off)",
        False,
    )


def scan_journal(
    path: Path,
    on_record: Callable[[Record], object] | None = None,
    *,
    skip: frozenset[str] = frozenset(),
    unanchored: bool = False,
) -> Scan:
    """Read and verify a journal, handing each verified record to ``on_record``.

    Raises:
        JournalUnreadable: the file cannot be read or not a single line of it is a record.
    """
    records = _records(path, skip=skip, unanchored=unanchored)
    while True:
        try:
            _, record = next(records)
        except StopIteration as end:
            scan: Scan = end.value
            return scan
        if on_record is not None:
            on_record(record)


def iter_journal(
    path: Path,
    *,
    allow_torn_tail: bool = False,
    skip: frozenset[str] = frozenset(),
    expected_head: tuple[int, str] | None = None,
) -> Iterator[Record]:
    """The records of a journal, verified as they are read; never changes a file.

    Damage is raised where it is found, after the records before it: act on what was read
    only once the iteration has ended. A journal that another process is appending to may
    show its newest record half-written: read such a live journal with
    ``allow_torn_tail=True``.

    Args:
        path: The journal file.
        allow_torn_tail: End quietly at a torn last line instead of raising (for reading a
            crashed or live session without repairing it).
        skip: Kinds of record not to parse or yield (their place in the chain is verified).
        expected_head: ``(seq, hash)`` of a record the caller saw before; it must still be there.

    Raises:
        JournalDamaged: the chain or its anchors do not verify, or the last line is torn.
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    records = _records(path, skip=skip, expected_head=expected_head)
    while True:
        try:
            _, record = next(records)
        except StopIteration as end:
            scan: Scan = end.value
            break
        yield record
    scan.raise_damage(path, allow_torn_tail=allow_torn_tail)


def verified_records(
    path: Path, *, skip: AbstractSet[str], skip_from: int
) -> Generator[tuple[int, Record], None, Scan]:
    """The records of a journal with the byte offset of each line, verified as they are read,
    and at the end (the generator's value) what the reading found; records of the kinds in
    ``skip`` from byte ``skip_from`` on are verified from their bytes and not handed on (a
    report that counts the second half of a journal's samples in another process). The
    caller raises the damage (``Scan.raise_damage``) once the records are read.

    Raises:
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    return _records(path, skip=skip, skip_from=skip_from)


def read_journal(
    path: Path, *, allow_torn_tail: bool = False, expected_head: tuple[int, str] | None = None
) -> list[Record]:
    """Every record of a journal, verified, in a list (see :func:`iter_journal`, which the
    readers of a whole session use: a list holds the journal in memory several times over).

    Raises:
        JournalDamaged: the chain or its anchors do not verify, or the last line is torn.
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    return list(iter_journal(path, allow_torn_tail=allow_torn_tail, expected_head=expected_head))


def verify_journal(path: Path, *, expected_head: tuple[int, str] | None = None) -> VerifyReport:
    """Verify a journal and report the first bad sequence number; never changes a file.

    A record whose place in the chain verifies from its bytes (its sequence number, its
    ``prev`` and its hash over the bytes as read) is not parsed: a changed byte breaks the hash
    either way, and only the writer (or someone who recomputes hashes, which the anchors catch)
    makes a line that matches. A record that does not verify is parsed, to say why. This keeps
    a day-long journal to seconds (parsing the JSON was most of the cost).

    Raises:
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    records = _records(path, skip_all=True, expected_head=expected_head)
    while True:
        try:
            next(records)
        except StopIteration as end:
            return _report(end.value)


def read_verified_prefix(path: Path) -> tuple[list[Record], VerifyReport]:
    """The records that verify, up to the first bad one, and the report of what is wrong
    after them (for a replay, which shows what can be trusted and says where it stops);
    never changes a file.

    Raises:
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    verified: list[Record] = []
    report, _ = scan_verified_prefix(path, lambda _, record: verified.append(record))
    return verified, report


def scan_verified_prefix(
    path: Path, on_record: Callable[[int, Record], object]
) -> tuple[VerifyReport, int]:
    """Hand each record that verifies, up to the first bad one, to ``on_record`` with the
    byte offset of its line; return the report of what is wrong after them and the bytes
    those records take up. Never changes a file (a replay keeps offsets, not records: see
    ``cockpit.journal.index``).

    Raises:
        JournalUnreadable: the file is missing, not a regular file, not readable or not a journal.
    """
    records = _records(path)
    while True:
        try:
            offset, record = next(records)
        except StopIteration as end:
            return _report(end.value), end.value.good_length
        on_record(offset, record)


def _report(scan: Scan) -> VerifyReport:
    return VerifyReport(
        ok=scan.first_bad_seq is None,
        count=scan.count,
        first_bad_seq=scan.first_bad_seq,
        reason=scan.reason,
        torn_tail=scan.torn_tail,
        anchored=scan.anchored,
    )
