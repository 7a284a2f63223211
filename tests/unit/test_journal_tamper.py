"""Tampering and truncation: the exact first bad sequence number, and torn tails repaired."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from cockpit.journal import Actor, Journal, JournalDamaged, Record, read_journal, verify_journal

RECORDS = 10
ACTOR = Actor(role="deployer", user="alice", tty="/dev/pts/3")


def _no_fsync(fd: int) -> None:
    """Durability is not under test here; skipping fsync keeps a thousand opens fast."""


def _write_journal(path: Path, count: int = RECORDS) -> list[bytes]:
    with Journal.open(path) as journal:
        for n in range(count):
            body: dict[str, Any] = {"n": n, "note": f"step {n} ✓", "values": [n, n / 3]}
            journal.append("test.event", body, actor=ACTOR, wall=1_800_000_000.0 + n, t_plus=n)
    return path.read_bytes().splitlines(keepends=True)


def _anchors(path: Path) -> Path:
    return path.with_name(path.name + ".anchors")


@pytest.fixture
def journal_lines(tmp_path: Path) -> list[bytes]:
    return _write_journal(tmp_path / "session.jsonl")


def _rechain(lines: list[bytes], start: int) -> list[bytes]:
    """Recompute seq, prev and hash from line ``start`` (0-based) on, as a forger would."""
    out = list(lines[:start])
    prev = json.loads(out[-1])["hash"] if out else "0" * 64
    for index, line in enumerate(lines[start:], start=start):
        record = json.loads(line)
        del record["hash"]
        record["seq"], record["prev"] = index + 1, prev
        payload = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        record["hash"] = prev = hashlib.sha256((prev + payload).encode("utf-8")).hexdigest()
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        out.append(text.encode("utf-8") + b"\n")
    return out


def _line_of_offset(lines: list[bytes], offset: int) -> int:
    """1-based number of the line holding byte ``offset``."""
    end = 0
    for number, line in enumerate(lines, start=1):
        end += len(line)
        if offset < end:
            return number
    raise AssertionError(offset)


@pytest.mark.parametrize("with_anchors", [True, False])
def test_every_flipped_byte_names_its_record(tmp_path: Path, with_anchors: bool) -> None:
    path = tmp_path / "session.jsonl"
    lines = _write_journal(path)
    if not with_anchors:
        _anchors(path).unlink()
    original = b"".join(lines)
    for offset in range(len(original)):
        mask = (0x01, 0x20, 0x80)[offset % 3]  # low bit, ASCII case, UTF-8 validity
        damaged = bytearray(original)
        damaged[offset] ^= mask
        path.write_bytes(damaged)
        report = verify_journal(path)
        record = _line_of_offset(lines, offset)
        assert (report.ok, report.first_bad_seq) == (False, record), (offset, mask, report)
        assert report.count == record - 1
        if report.torn_tail:
            # Only the last line can pass for a crash, and only when no anchor vouches for it.
            assert (with_anchors, record) == (False, RECORDS), (offset, mask, report)


@pytest.mark.parametrize("deleted", range(1, RECORDS + 1))
def test_a_deleted_record_is_reported_at_its_own_seq(
    tmp_path: Path, journal_lines: list[bytes], deleted: int
) -> None:
    path = tmp_path / "session.jsonl"
    path.write_bytes(b"".join(journal_lines[: deleted - 1] + journal_lines[deleted:]))
    report = verify_journal(path)
    assert (report.ok, report.first_bad_seq, report.torn_tail) == (False, deleted, False)
    with pytest.raises(JournalDamaged) as caught:
        read_journal(path)
    assert caught.value.seq == deleted


@pytest.mark.parametrize("deleted", range(1, RECORDS))
def test_a_deleted_record_with_later_seqs_renumbered_is_reported_at_its_seq(
    tmp_path: Path, journal_lines: list[bytes], deleted: int
) -> None:
    path = tmp_path / "session.jsonl"
    _anchors(path).unlink()  # the chain alone must catch it
    kept = journal_lines[: deleted - 1]
    for line in journal_lines[deleted:]:
        record = json.loads(line)
        record["seq"] -= 1
        text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        kept.append(text.encode() + b"\n")
    path.write_bytes(b"".join(kept))
    report = verify_journal(path)
    assert (report.first_bad_seq, report.torn_tail) == (deleted, False)
    assert "prev" in (report.reason or "")


def test_deleting_the_last_record_shows_only_through_the_anchors(
    tmp_path: Path, journal_lines: list[bytes]
) -> None:
    path = tmp_path / "session.jsonl"
    path.write_bytes(b"".join(journal_lines[:-1]))
    report = verify_journal(path)
    assert (report.first_bad_seq, report.torn_tail) == (RECORDS, False)
    assert "cut off" in (report.reason or "")
    _anchors(path).unlink()
    assert verify_journal(path).ok  # the documented limit of a chain on its own


@pytest.mark.parametrize("first", range(1, RECORDS))
def test_two_swapped_records_are_reported_at_the_first(
    tmp_path: Path, journal_lines: list[bytes], first: int
) -> None:
    path = tmp_path / "session.jsonl"
    lines = list(journal_lines)
    lines[first - 1], lines[first] = lines[first], lines[first - 1]
    path.write_bytes(b"".join(lines))
    report = verify_journal(path)
    assert (report.first_bad_seq, report.torn_tail) == (first, False)


@pytest.mark.parametrize("edited", range(1, RECORDS + 1))
def test_an_edit_with_the_chain_recomputed_is_caught_by_the_anchors(
    tmp_path: Path, journal_lines: list[bytes], edited: int
) -> None:
    path = tmp_path / "session.jsonl"
    lines = list(journal_lines)
    record = json.loads(lines[edited - 1])
    record["body"]["note"] = "nothing happened here"
    lines[edited - 1] = json.dumps(record).encode() + b"\n"
    path.write_bytes(b"".join(_rechain(lines, edited - 1)))
    report = verify_journal(path)
    assert (report.first_bad_seq, report.torn_tail, report.count) == (edited, False, edited - 1)
    assert "anchor" in (report.reason or "")
    with pytest.raises(JournalDamaged) as caught:
        Journal.open(path)
    assert caught.value.seq == edited
    # Without the anchor file the forgery verifies: the threat model says so.
    _anchors(path).unlink()
    assert verify_journal(path).ok


def test_a_record_deleted_and_the_chain_recomputed_is_caught(
    tmp_path: Path, journal_lines: list[bytes]
) -> None:
    path = tmp_path / "session.jsonl"
    path.write_bytes(b"".join(_rechain(journal_lines[:3] + journal_lines[4:], 3)))
    assert verify_journal(path).first_bad_seq == 4


def test_an_expected_head_anchors_a_journal_without_an_anchor_file(
    tmp_path: Path, journal_lines: list[bytes]
) -> None:
    path = tmp_path / "session.jsonl"
    head = (RECORDS, json.loads(journal_lines[-1])["hash"])
    _anchors(path).unlink()
    assert verify_journal(path, expected_head=head).ok
    lines = list(journal_lines)
    record = json.loads(lines[6])
    record["kind"] = "forged"
    lines[6] = json.dumps(record).encode() + b"\n"
    path.write_bytes(b"".join(_rechain(lines, 6)))
    assert verify_journal(path, expected_head=head).first_bad_seq == RECORDS
    with pytest.raises(JournalDamaged):
        read_journal(path, expected_head=head)


def test_an_edited_anchor_file_is_reported(tmp_path: Path, journal_lines: list[bytes]) -> None:
    path = tmp_path / "session.jsonl"
    anchor_lines = _anchors(path).read_bytes().splitlines(keepends=True)
    anchor_lines[4] = b"garbage\n"
    _anchors(path).write_bytes(b"".join(anchor_lines))
    report = verify_journal(path)
    assert (report.first_bad_seq, report.torn_tail) == (5, False)


def _expected_after_cut(lines: list[bytes], cut: int) -> tuple[int, bool]:
    """Whole records before ``cut``, and whether the cut tears a record."""
    end = 0
    for whole, line in enumerate(lines):
        if cut < end + len(line):
            return whole, cut > end
        end += len(line)
    return len(lines), False


@pytest.mark.parametrize("anchors", ["as_a_crash_leaves_them", "none"])
def test_a_cut_anywhere_in_the_last_five_records_is_repaired_to_the_last_whole_one(
    tmp_path: Path, anchors: str
) -> None:
    source = tmp_path / "source.jsonl"
    lines = _write_journal(source)
    original = b"".join(lines)
    anchor_lines = _anchors(source).read_bytes().splitlines(keepends=True)
    first_cut = sum(len(line) for line in lines[:-5])
    work = tmp_path / "work"
    work.mkdir()
    path = work / "session.jsonl"
    for cut in range(first_cut, len(original) + 1):
        for leftover in work.iterdir():
            leftover.unlink()
        path.write_bytes(original[:cut])
        whole, torn = _expected_after_cut(lines, cut)
        if anchors == "as_a_crash_leaves_them":
            # A crash leaves anchors only for records whose fsync returned: never the torn one.
            _anchors(path).write_bytes(b"".join(anchor_lines[:whole]))

        report = verify_journal(path)
        assert (report.count, report.torn_tail, report.ok) == (whole, torn, not torn), cut
        if torn:
            assert report.first_bad_seq == whole + 1

        kept: list[Record] = []
        with Journal.open(path, fsync=_no_fsync, on_record=kept.append) as journal:
            assert [r.hash for r in kept] == [json.loads(line)["hash"] for line in lines[:whole]]
            assert path.read_bytes() == original[: sum(len(line) for line in lines[:whole])]
            if torn:
                assert journal.repaired_from == path.with_name("session.jsonl.broken")
                assert journal.repaired_from.read_bytes() == original[:cut]
            else:
                assert journal.repaired_from is None
            journal.append("test.after", {}, actor=ACTOR, wall=1_900_000_000.0)
        after = verify_journal(path)
        assert (after.ok, after.count, after.anchored) == (True, whole + 1, whole + 1)


def test_a_cut_below_anchored_records_is_refused_not_repaired(
    tmp_path: Path, journal_lines: list[bytes]
) -> None:
    path = tmp_path / "session.jsonl"
    original = b"".join(journal_lines)
    for cut in (len(original) - 1, len(original) - len(journal_lines[-1]), len(original) - 400):
        path.write_bytes(original[:cut])
        whole, _ = _expected_after_cut(journal_lines, cut)
        report = verify_journal(path)
        assert (report.first_bad_seq, report.torn_tail) == (whole + 1, False)
        with pytest.raises(JournalDamaged) as caught:
            Journal.open(path, fsync=_no_fsync)
        assert caught.value.seq == whole + 1
        assert path.read_bytes() == original[:cut]  # refused means untouched
        assert not path.with_name("session.jsonl.broken").exists()


def test_a_second_repair_keeps_the_first_broken_copy(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    _write_journal(path, 3)
    for attempt in range(2):
        _anchors(path).write_bytes(b"".join(_anchors(path).read_bytes().splitlines(True)[:2]))
        path.write_bytes(path.read_bytes()[:-5])
        with Journal.open(path) as journal:
            suffix = "" if attempt == 0 else ".1"
            assert journal.repaired_from == tmp_path / f"session.jsonl.broken{suffix}"
            journal.append("test.again", {}, actor=ACTOR, wall=1.0)
    assert (tmp_path / "session.jsonl.broken").exists()
