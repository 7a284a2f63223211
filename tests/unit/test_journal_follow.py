"""Following a journal another process appends to: only what is new, each link verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.journal import Actor, Journal, JournalDamaged
from cockpit.journal.follow import JournalFollower
from cockpit.journal.reader import scan_journal
from cockpit.journal.records import encode_record

WHO = Actor(role="system", user="cockpit", tty=None)


def journal_with(path: Path, count: int) -> Journal:
    journal = Journal.open(path)
    for n in range(count):
        journal.append("note", {"n": n}, actor=WHO, wall=1000.0 + n)
    return journal


def test_new_records_arrive_once_and_a_half_written_one_waits(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    writer = journal_with(path, 3)
    follower = JournalFollower(path, scan_journal(path))
    assert follower.read_new() == []
    writer.append("note", {"n": 3}, actor=WHO, wall=1003.0)
    writer.append("note", {"n": 4}, actor=WHO, wall=1004.0)
    assert [r.body["n"] for r in follower.read_new()] == [3, 4]
    assert follower.read_new() == []
    # A record caught mid-write (the writer does one write, but a reader may see part of it).
    record, line = encode_record(
        seq=6, wall=1005.0, t_plus=None, actor=WHO, kind="note", body={"n": 5},
        prev=follower.last_hash,
    )  # fmt: skip
    with path.open("ab") as file:
        file.write(line[:20])
    assert follower.read_new() == []
    with path.open("ab") as file:
        file.write(line[20:])
    assert follower.read_new() == [record]
    assert follower.count == 6
    writer.close()


def test_the_last_record_shown_changing_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    journal_with(path, 3).close()
    follower = JournalFollower(path, scan_journal(path))
    path.write_bytes(path.read_bytes().replace(b'{"n":2}', b'{"n":7}'))
    with pytest.raises(JournalDamaged) as caught:
        follower.read_new()
    assert caught.value.seq == 3


def test_a_journal_cut_back_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    journal_with(path, 3).close()
    follower = JournalFollower(path, scan_journal(path))
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:2]))
    with pytest.raises(JournalDamaged):
        follower.read_new()


def test_a_new_record_that_does_not_chain_is_damage_and_not_returned(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    journal_with(path, 2).close()
    follower = JournalFollower(path, scan_journal(path))
    _, forged = encode_record(
        seq=3, wall=1.0, t_plus=None, actor=WHO, kind="note", body={"n": 9}, prev="0" * 64
    )
    with path.open("ab") as file:
        file.write(forged)
    with pytest.raises(JournalDamaged) as caught:
        follower.read_new()
    assert caught.value.seq == 3
    assert follower.count == 2
