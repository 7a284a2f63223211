"""Reading and verifying a journal: what each kind of file and each kind of damage gives.

Each test writes the bytes of a journal (and of its anchor file) and streams them through the
reader every reader uses (a record at a time), so they are exact and fast; the slow,
exhaustive damage tests are in test_journal_tamper.py.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import tempfile
from pathlib import Path

import pytest

from cockpit.journal import JournalUnreadable, verify_journal
from cockpit.journal.anchors import anchors_path_for, format_anchor
from cockpit.journal.reader import Scan, VerifyReport, _opened, _records, scan_journal
from cockpit.journal.records import GENESIS_PREV, Actor, Record, encode_record

ACTOR = Actor(role="operator", user="ada", tty=None)
PATH = Path("session.jsonl")


def chain(count: int) -> tuple[list[Record], list[bytes]]:
    """``count`` valid records and their lines (with newlines)."""
    records: list[Record] = []
    lines: list[bytes] = []
    prev = GENESIS_PREV
    for seq in range(1, count + 1):
        record, line = encode_record(
            seq=seq,
            wall=1_800_000_000.0 + seq,
            t_plus=float(seq),
            actor=ACTOR,
            kind="test.event",
            body={"n": seq},
            prev=prev,
        )
        records.append(record)
        lines.append(line)
        prev = record.hash
    return records, lines


def anchors_for(records: list[Record]) -> bytes:
    return b"".join(format_anchor(r.seq, r.hash) for r in records)


@dataclasses.dataclass(frozen=True)
class Scanned:
    """What the reader found, and the records it handed on before it stopped."""

    scan: Scan
    records: list[Record]

    @property
    def first_bad_seq(self) -> int | None:
        return self.scan.first_bad_seq

    @property
    def reason(self) -> str | None:
        return self.scan.reason

    @property
    def torn_tail(self) -> bool:
        return self.scan.torn_tail

    @property
    def good_length(self) -> int:
        return self.scan.good_length

    def anchored_count(self) -> int | None:
        return self.scan.anchored


def scan(data: bytes, anchors: bytes | None = None, head: tuple[int, str] | None = None) -> Scanned:
    """Read ``data`` as a journal (beside ``anchors`` as its anchor file, if given)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / PATH.name
        path.write_bytes(data)
        if anchors is not None:
            anchors_path_for(path).write_bytes(anchors)
        records: list[Record] = []
        reading = _records(path, expected_head=head)
        while True:
            try:
                records.append(next(reading)[1])  # (offset, record)
            except StopIteration as end:
                return Scanned(end.value, records)


def read_bytes(path: Path, *, missing_ok: bool = False) -> bytes | None:
    """A whole file, as the readers read it: a chunk at a time, a line at a time."""
    with _opened(path, missing_ok=missing_ok) as lines:
        if lines is None:
            return None
        whole = b"".join(line + b"\n" for line in lines)
        return whole + lines.remainder


# ---------------------------------------------------------------- reading the file


def test_read_bytes_reads_a_whole_file_larger_than_one_read(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    data = os.urandom(3 * (1 << 20) + 17)
    path.write_bytes(data)
    assert read_bytes(path) == data


def test_read_bytes_of_a_missing_file(tmp_path: Path) -> None:
    assert read_bytes(tmp_path / "nope", missing_ok=True) is None
    with pytest.raises(JournalUnreadable) as caught:
        read_bytes(tmp_path / "nope")
    assert caught.value.reason == "no such file"


def test_read_bytes_of_a_directory(tmp_path: Path) -> None:
    with pytest.raises(JournalUnreadable) as caught:
        read_bytes(tmp_path)
    assert caught.value.reason == "is a directory, not a journal file (a regular file)"


def test_read_bytes_of_a_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(JournalUnreadable) as caught:
        read_bytes(fifo)
    assert caught.value.reason == "is a FIFO (named pipe), not a journal file (a regular file)"


def test_read_bytes_of_a_symlink_loop_says_it_is_a_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(JournalUnreadable) as caught:
        read_bytes(loop)
    assert caught.value.reason == "too many levels of symbolic links (a loop)"


def test_read_bytes_without_permission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As root a mode of 000 still reads: make the open fail as it does for other users.
    def denied(*args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(JournalUnreadable) as caught:
        read_bytes(tmp_path / "s.jsonl")
    assert caught.value.reason == "permission denied"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (OSError(errno.EIO, "Input/output error"), "input/output error"),
        (OSError("no errno"), "no errno"),
    ],
)
def test_a_failing_read_is_unreadable_and_closes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, reason: str
) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"x")
    closed: list[int] = []
    real_close = os.close

    def failing_read(fd: int, size: int) -> bytes:
        raise error

    def close(fd: int) -> None:
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "read", failing_read)
    monkeypatch.setattr(os, "close", close)
    with pytest.raises(JournalUnreadable) as caught:
        read_bytes(path)
    assert caught.value.reason == reason
    assert len(closed) == 1


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (OSError(errno.ENAMETOOLONG, "File name too long"), "the name is too long"),
        (OSError("no errno"), "no errno"),
    ],
)
def test_a_failing_open_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, reason: str
) -> None:
    def failing_open(*args: object, **kwargs: object) -> int:
        raise error

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(JournalUnreadable) as caught:
        read_bytes(tmp_path / "s.jsonl")
    assert caught.value.reason == reason


# ---------------------------------------------------------------- reports are values


def test_reports_are_immutable(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(chain(2)[1]))
    report = verify_journal(path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.ok = False  # type: ignore[misc]
    result = scan_journal(path)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.torn_tail = True  # type: ignore[misc]
    assert report == VerifyReport(True, 2, None, None, False, None)


# ---------------------------------------------------------------- the chain, in memory

RECORDS, LINES = chain(5)
WHOLE = b"".join(LINES)
PARTIAL = LINES[4][:40]  # what a crash in the middle of writing record 5 leaves


def edited(index: int, old: bytes, new: bytes) -> list[bytes]:
    """The lines with one record's text changed (its hash then no longer matches)."""
    out = list(LINES)
    assert old in out[index]
    out[index] = out[index].replace(old, new)
    return out


def test_an_intact_journal() -> None:
    result = scan(WHOLE)
    assert (result.first_bad_seq, result.reason, result.torn_tail) == (None, None, False)
    assert result.records == RECORDS
    assert result.good_length == len(WHOLE)
    assert result.anchored_count() is None


def test_an_intact_journal_with_its_anchors() -> None:
    result = scan(WHOLE, anchors_for(RECORDS))
    assert result.first_bad_seq is None and result.records == RECORDS
    assert result.anchored_count() == 5
    assert scan(WHOLE, anchors_for(RECORDS[:3])).anchored_count() == 3


def test_an_empty_journal() -> None:
    result = scan(b"")
    assert (result.records, result.good_length, result.first_bad_seq) == ([], 0, None)


# (data, first bad seq, reason, torn tail)
DAMAGE = {
    "torn, no newline": (
        b"".join(LINES[:4]) + PARTIAL,
        5,
        "torn last line, a crash mid-write (no newline at the end)",
        True,
    ),
    "torn, with a newline": (
        b"".join(LINES[:4]) + PARTIAL + b"\n",
        5,
        "torn last line, a crash mid-write (not valid JSON",
        True,
    ),
    "no newline, not a record": (
        b"".join(LINES[:4]) + b"garbage",
        5,
        "last line has no newline and is not the start of a record",
        False,
    ),
    "bad last line": (
        b"".join(LINES[:4]) + b"garbage\n",
        5,
        "line is not valid JSON",
        False,
    ),
    "bad line inside": (
        LINES[0] + b"garbage\n" + b"".join(LINES[2:]),
        2,
        "line is not valid JSON",
        False,
    ),
    "two records on the last line": (
        b"".join(LINES[:3]) + LINES[3].rstrip(b"\n") + LINES[4],
        4,
        "line is not valid JSON",
        False,
    ),
    "two records, no newline": (
        b"".join(LINES[:3]) + LINES[3].rstrip(b"\n") + LINES[4].rstrip(b"\n"),
        4,
        "last line has no newline and is not the start of a record",
        False,
    ),
    "swapped": (
        LINES[0] + LINES[2] + LINES[1] + b"".join(LINES[3:]),
        2,
        "sequence number 3 where 2 belongs (a record was removed, inserted or reordered)",
        False,
    ),
    "wrong prev": (
        b"".join(LINES[:2]) + chain(1)[1][0].replace(b'"seq":1', b'"seq":3'),
        3,
        "prev is not the hash of record 2 (a record was removed, inserted or reordered)",
        False,
    ),
    "changed": (
        b"".join(edited(2, b'"n":3', b'"n":7')),
        3,
        "hash does not match the content (the record was changed after writing)",
        False,
    ),
}


@pytest.mark.parametrize("case", DAMAGE, ids=list(DAMAGE))
def test_damage_is_reported_at_the_first_bad_record(case: str) -> None:
    data, first_bad, reason, torn = DAMAGE[case]
    result = scan(data)
    assert result.first_bad_seq == first_bad
    assert result.reason is not None and result.reason.startswith(reason), result.reason
    assert result.torn_tail is torn
    assert result.records == RECORDS[: first_bad - 1]
    assert result.good_length == sum(len(line) for line in LINES[: first_bad - 1])


def test_a_second_line_that_is_a_record_makes_it_a_journal() -> None:
    assert scan(b"garbage\n" + LINES[1]).first_bad_seq == 1


@pytest.mark.parametrize(
    "data",
    [
        b"hello\nworld\n",
        b"\n",
        b"garbage\n" + b'{"actor": broken\n',  # a record start, but not on the first line
        b'{"act\ngarbage\n',  # the start of a record, but not alone: not a torn file
    ],
)
def test_a_file_with_no_record_is_not_a_journal(data: bytes) -> None:
    with pytest.raises(JournalUnreadable, match="not a cockpit journal"):
        scan(data)


@pytest.mark.parametrize("data", [b'{"act', b'{"act\n', PARTIAL, LINES[0][:-2] + b"\n"])
def test_a_lone_torn_first_record_is_a_journal(data: bytes) -> None:
    result = scan(data)
    assert result.first_bad_seq == 1 and result.torn_tail


def test_a_file_is_judged_a_journal_by_its_first_hundred_lines() -> None:
    assert scan(b"garbage\n" * 99 + LINES[0]).first_bad_seq == 1
    with pytest.raises(JournalUnreadable):
        scan(b"garbage\n" * 100 + LINES[0])


# ---------------------------------------------------------------- anchors and the expected head


def test_an_edit_with_the_chain_recomputed_differs_from_its_anchor() -> None:
    anchors = anchors_for(RECORDS)
    data = b"".join(LINES[:2])
    prev = RECORDS[1].hash
    for record in RECORDS[2:]:  # other wall times from record 3 on, the chain recomputed
        forged, line = encode_record(
            seq=record.seq,
            wall=record.wall + 1,
            t_plus=record.t_plus,
            actor=record.actor,
            kind=record.kind,
            body=record.body,
            prev=prev,
        )
        data += line
        prev = forged.hash
    result = scan(data, anchors)
    assert result.first_bad_seq == 3
    assert result.reason == (
        "hash differs from the anchor file (the record was changed and the chain after it"
        " recomputed)"
    )
    assert result.torn_tail is False
    assert result.records == RECORDS[:2]


def test_an_anchor_that_differs_before_a_torn_tail_wins() -> None:
    anchors = anchors_for(RECORDS[:1]) + format_anchor(2, "f" * 64)
    result = scan(b"".join(LINES[:4]) + PARTIAL, anchors)
    assert result.first_bad_seq == 2
    assert result.torn_tail is False
    assert result.records == RECORDS[:1]
    assert result.good_length == len(LINES[0])
    assert result.reason is not None and result.reason.startswith("hash differs from the anchor")


def test_damage_in_the_journal_before_the_anchors_keeps_its_own_reason() -> None:
    data = b"".join(edited(2, b'"n":3', b'"n":7'))
    result = scan(data, anchors_for(RECORDS))
    assert result.first_bad_seq == 3
    assert result.reason == DAMAGE["changed"][2]


def test_records_cut_off_the_end_show_through_the_anchors() -> None:
    result = scan(b"".join(LINES[:3]), anchors_for(RECORDS))
    assert result.first_bad_seq == 4
    assert result.reason == (
        "missing: the anchor file vouches for record 4, but the journal ends at record 3"
        " (records were cut off)"
    )
    assert result.torn_tail is False
    assert result.good_length == sum(len(line) for line in LINES[:3])


@pytest.mark.parametrize("tail", [PARTIAL, PARTIAL + b"\n"], ids=["no newline", "newline"])
def test_a_torn_last_line_that_was_anchored_is_damage(tail: bytes) -> None:
    result = scan(b"".join(LINES[:4]) + tail, anchors_for(RECORDS))
    assert result.first_bad_seq == 5
    assert result.torn_tail is False
    assert result.reason == (
        "last line is damaged, but the anchor file shows record 5 was durable"
        " (not a crash mid-write)"
    )


def test_a_torn_last_line_after_the_last_anchor_is_still_torn() -> None:
    result = scan(b"".join(LINES[:4]) + PARTIAL, anchors_for(RECORDS[:4]))
    assert result.first_bad_seq == 5 and result.torn_tail


def test_a_malformed_anchor_line_is_reported_after_the_last_good_one() -> None:
    anchors = anchors_for(RECORDS[:2]) + b"not an anchor\n" + anchors_for(RECORDS[2:])
    result = scan(WHOLE, anchors)
    assert result.first_bad_seq == 3
    assert result.reason == (
        "the anchor file has a malformed line after the anchor of record 2 (it was edited)"
    )
    assert result.records == RECORDS[:2]
    assert result.good_length == len(LINES[0]) + len(LINES[1])


def test_a_malformed_anchor_line_beside_a_torn_tail() -> None:
    anchors = anchors_for(RECORDS[:2]) + b"not an anchor\n" + anchors_for(RECORDS[2:3])
    result = scan(b"".join(LINES[:4]) + PARTIAL, anchors)
    assert result.first_bad_seq == 3
    assert result.torn_tail is False


def test_a_malformed_anchor_line_after_the_damage_does_not_move_it() -> None:
    data = b"".join(edited(2, b'"n":3', b'"n":7'))
    at_damage = anchors_for(RECORDS[:3]) + b"not an anchor\n" + anchors_for(RECORDS[3:])
    assert scan(WHOLE, at_damage).reason == (  # the anchor file is damaged after record 3
        "the anchor file has a malformed line after the anchor of record 3 (it was edited)"
    )
    result = scan(data, at_damage)
    assert result.first_bad_seq == 3
    assert result.reason == DAMAGE["changed"][2]


def test_the_expected_head_must_still_be_there() -> None:
    head = (5, RECORDS[4].hash)
    assert scan(WHOLE, head=head).first_bad_seq is None
    cut = scan(b"".join(LINES[:4]), head=head)
    assert cut.first_bad_seq == 5
    assert cut.reason == (
        "missing: the expected head vouches for record 5, but the journal ends at record 4"
        " (records were cut off)"
    )
    other = scan(WHOLE, head=(4, "f" * 64))
    assert other.first_bad_seq == 4
    assert other.reason is not None and other.reason.startswith("hash differs from the expected")
