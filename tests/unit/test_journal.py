"""The journal's record contract, appends, failures, batching, sessions and its CLI."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import cockpit
from cockpit.journal import (
    Actor,
    Batcher,
    Journal,
    JournalDamaged,
    JournalFailed,
    JournalLocked,
    JournalUnreadable,
    Record,
    default_sessions_dir,
    new_session_path,
    read_journal,
    verify_journal,
)

ACTOR = Actor(role="deployer", user="alice", tty="/dev/pts/3")
WALL = 1_800_000_000.0
SRC_DIR = Path(cockpit.__file__).resolve().parents[1]


class CountingFsync:
    """A fake fsync that counts calls and raises EIO once armed."""

    def __init__(self) -> None:
        self.calls = 0
        self.armed = False

    def __call__(self, fd: int) -> None:
        self.calls += 1
        if self.armed:
            raise OSError(errno.EIO, "Input/output error")


def _append(journal: Journal, n: int, kind: str = "test.event") -> Record:
    return journal.append(kind, {"n": n}, actor=ACTOR, wall=WALL + n, t_plus=float(n))


# The record contract


def test_each_line_follows_the_record_contract(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        journal.append("session.started", {"profile": "checkout"}, actor=ACTOR, wall=WALL)
        journal.append(
            "step.started",
            {"argv": ["./deploy", "v2"], "é": "ü"},
            actor=ACTOR,
            wall=WALL + 1.5,
            t_plus=1.5,
        )
    prev = "0" * 64
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    for seq, line in enumerate(lines[:-1], start=1):
        record = json.loads(line)
        assert set(record) == {"seq", "wall", "t_plus", "actor", "kind", "body", "prev", "hash"}
        assert (record["seq"], record["prev"]) == (seq, prev)
        digest = record.pop("hash")
        canonical = json.dumps(
            record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        assert digest == hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()
        prev = digest
    first = json.loads(lines[0])
    assert first["actor"] == {"role": "deployer", "user": "alice", "tty": "/dev/pts/3"}
    assert (first["t_plus"], first["wall"]) == (None, WALL)


def test_appended_records_equal_the_records_read_back(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        written = [
            journal.append("a", {"tuple": (1, 2), "nested": {"x": [1.5]}}, actor=ACTOR, wall=WALL),
            journal.append("b", {}, actor=Actor("monitor", "bob"), wall=WALL, t_plus=0),
        ]
        assert (journal.last_seq, journal.last_hash) == (2, written[-1].hash)
    assert read_journal(path) == written
    seen: list[Record] = []
    with Journal.open(path, on_record=seen.append) as reopened:
        assert seen == written
        assert (reopened.last_seq, reopened.last_hash) == (2, written[-1].hash)
        third = _append(reopened, 3)
    assert (third.seq, third.prev) == (3, written[-1].hash)


def test_actor_round_trips_through_json() -> None:
    assert Actor.from_json(ACTOR.to_json()) == ACTOR
    assert Actor.from_json({"role": "r", "user": "u", "tty": None}) == Actor("r", "u")
    with pytest.raises(ValueError, match="actor"):
        Actor.from_json({"role": "r", "user": 3, "tty": None})


@pytest.mark.parametrize(
    "body", [{"v": float("nan")}, {"v": [1.0, float("inf")]}, {"v": {"w": -float("inf")}}]
)
def test_a_non_finite_number_is_refused_before_anything_is_written(
    tmp_path: Path, body: dict[str, object]
) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        _append(journal, 1)
        size = path.stat().st_size
        with pytest.raises(ValueError, match="NaN or infinity"):
            journal.append("probe.sample", body, actor=ACTOR, wall=WALL)
        with pytest.raises(ValueError, match="finite"):
            journal.append("probe.sample", {}, actor=ACTOR, wall=float("nan"))
        assert path.stat().st_size == size
        assert journal.failed is None
        assert _append(journal, 2).seq == 2  # no sequence number was used up


def test_unencodable_text_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.jsonl") as journal:
        with pytest.raises(ValueError, match="surrogate"):
            journal.append("step.output", {"line": "bad \udcff"}, actor=ACTOR, wall=WALL)
        with pytest.raises(TypeError):
            journal.append("step.output", {"x": object()}, actor=ACTOR, wall=WALL)
        assert journal.last_seq == 0
    assert (tmp_path / "s.jsonl").read_bytes() == b""


# Durability and failure


def test_each_append_is_one_write_and_one_fsync(tmp_path: Path) -> None:
    fsync = CountingFsync()
    with Journal.open(tmp_path / "s.jsonl", fsync=fsync) as journal:
        assert fsync.calls == 1  # the directory, for the new file
        for n in range(5):
            _append(journal, n)
        assert fsync.calls == 6
    assert fsync.calls == 7  # the anchor file, once, on close


def test_a_failed_fsync_is_never_retried_and_blocks_every_later_append(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    fsync = CountingFsync()
    journal = Journal.open(path, fsync=fsync)
    _append(journal, 1)
    fsync.armed = True
    calls_before = fsync.calls
    with pytest.raises(JournalFailed, match="Input/output error"):
        _append(journal, 2)
    assert fsync.calls == calls_before + 1
    assert journal.failed is not None and "record 2" in journal.failed
    for n in range(3):
        with pytest.raises(JournalFailed):
            _append(journal, 3 + n)
    batcher = Batcher(journal, "step.output", actor=ACTOR)
    batcher.add("stdout", "line")
    with pytest.raises(JournalFailed):
        batcher.flush(wall=WALL, t_plus=None)
    journal.close()
    assert fsync.calls == calls_before + 1  # not on later appends, not on close
    assert journal.last_seq == 1


def test_a_short_write_fails_the_journal_and_the_torn_line_is_repaired_on_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.jsonl"
    journal = Journal.open(path)
    _append(journal, 1)
    limit = path.stat().st_size + 20  # the next record gets only 20 bytes in
    old_limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limits[1]))
    try:
        with pytest.raises(JournalFailed, match="short write"):
            _append(journal, 2)
        with pytest.raises(JournalFailed):
            _append(journal, 3)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limits)
        signal.signal(signal.SIGXFSZ, old_handler)
    journal.close()
    assert verify_journal(path).torn_tail
    seen: list[Record] = []
    with Journal.open(path, on_record=seen.append) as reopened:
        assert reopened.repaired_from is not None
        assert [r.seq for r in seen] == [1]
        assert reopened.last_seq == 1


def test_a_failed_fsync_of_the_anchor_file_on_close_is_reported(tmp_path: Path) -> None:
    fsync = CountingFsync()
    journal = Journal.open(tmp_path / "s.jsonl", fsync=fsync)
    _append(journal, 1)
    fsync.armed = True
    journal.close()
    assert journal.failed is not None and "anchor" in journal.failed
    journal.close()  # a second close does nothing
    with pytest.raises(ValueError, match="closed"):
        _append(journal, 2)


def test_a_second_writer_is_refused_while_the_first_has_the_journal_open(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path), pytest.raises(JournalLocked):
        Journal.open(path)
    Journal.open(path).close()


def test_a_journal_without_its_anchor_file_is_anchored_again_on_open(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        for n in range(4):
            _append(journal, n)
    anchors = tmp_path / "s.jsonl.anchors"
    anchors.unlink()
    assert verify_journal(path).anchored is None
    Journal.open(path).close()
    assert verify_journal(path).anchored == 4
    anchors.write_bytes(anchors.read_bytes()[:-7])  # a torn anchor line, as after a power loss
    assert verify_journal(path).anchored == 3
    Journal.open(path).close()
    assert anchors.read_bytes().count(b"\n") == 4
    assert verify_journal(path).anchored == 4


def test_a_deleted_journal_with_its_anchor_file_left_is_not_silently_restarted(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        _append(journal, 1)
    path.unlink()
    with pytest.raises(JournalUnreadable, match="anchor file"):
        Journal.open(path)
    assert not path.exists()


# Reading


def test_read_journal_refuses_a_torn_tail_unless_allowed_and_never_repairs(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        for n in range(3):
            _append(journal, n)
    (tmp_path / "s.jsonl.anchors").unlink()
    torn = path.read_bytes()[:-10]
    path.write_bytes(torn)
    with pytest.raises(JournalDamaged) as caught:
        read_journal(path)
    assert (caught.value.seq, caught.value.torn_tail) == (3, True)
    assert [r.seq for r in read_journal(path, allow_torn_tail=True)] == [1, 2]
    assert path.read_bytes() == torn
    assert not (tmp_path / "s.jsonl.broken").exists()


def test_unreadable_paths_raise_journal_unreadable(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 8)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    text = tmp_path / "notes.txt"
    text.write_text("hello\nworld\n")
    for path in (tmp_path / "missing.jsonl", tmp_path, garbage, fifo, text):
        with pytest.raises(JournalUnreadable):
            verify_journal(path)
        with pytest.raises(JournalUnreadable):
            read_journal(path)
    with pytest.raises(JournalUnreadable, match="directory"):
        Journal.open(tmp_path)
    with pytest.raises(JournalUnreadable, match="regular"):
        Journal.open(fifo)  # and does not block waiting for a reader
    with pytest.raises(JournalUnreadable, match="not a cockpit journal"):
        Journal.open(text)


def test_an_empty_journal_verifies(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    Journal.open(path).close()
    assert verify_journal(path).ok and verify_journal(path).count == 0


# Batching


def test_the_batcher_writes_one_record_per_flush(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.jsonl") as journal:
        batcher = Batcher(journal, "step.output", actor=ACTOR)
        assert batcher.flush(wall=WALL, t_plus=0.0) is None
        batcher.add("stdout", "line 1")
        batcher.add("stderr", "warn ⚠")
        batcher.add("stdout", "line 2")
        assert len(batcher) == 3
        record = batcher.flush(wall=WALL + 1, t_plus=1.0)
        assert record is not None
        assert (record.kind, record.actor, record.t_plus) == ("step.output", ACTOR, 1.0)
        assert record.body == {"stdout": ["line 1", "line 2"], "stderr": ["warn ⚠"]}
        assert len(batcher) == 0
        assert batcher.flush(wall=WALL + 2, t_plus=2.0) is None
        assert read_journal(journal.path) == [record]


def test_the_batcher_refuses_a_bad_item_when_it_is_added(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "s.jsonl") as journal:
        batcher = Batcher(journal, "probe.sample", actor=ACTOR)
        batcher.add("latency", {"value": 0.2})
        with pytest.raises(ValueError, match="NaN or infinity"):
            batcher.add("latency", {"value": float("nan")})
        with pytest.raises(ValueError, match="surrogate"):
            batcher.add("stdout", "\udcff")
        record = batcher.flush(wall=WALL, t_plus=None)
        assert record is not None and record.body == {"latency": [{"value": 0.2}]}


# Files, modes and session paths


def test_journal_anchor_and_broken_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        _append(journal, 1)
    path.write_bytes(path.read_bytes() + b'{"actor":')
    Journal.open(path).close()
    for name in ("s.jsonl", "s.jsonl.anchors", "s.jsonl.broken"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_new_session_path_makes_private_directories_and_a_sortable_name(tmp_path: Path) -> None:
    sessions = tmp_path / "state" / "cockpit" / "sessions"
    old_umask = os.umask(0o022)
    try:
        path = new_session_path(sessions, "Checkout deploy: v2!", 1_795_344_360.0)
    finally:
        os.umask(old_umask)
    assert path.parent == sessions
    assert path.name.startswith("20261122T104600Z-checkout-deploy-v2-")
    assert path.suffix == ".jsonl" and len(path.name.split("-")[-1]) == len("abcd.jsonl")
    assert not path.exists()
    for directory in (sessions, sessions.parent, sessions.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert new_session_path(sessions, "!!!", 0.0).name.startswith("19700101T000000Z-session-")


def test_default_sessions_dir_respects_xdg_state_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert default_sessions_dir() == tmp_path / "xdg" / "cockpit" / "sessions"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unusable in ("", "relative/dir"):
        monkeypatch.setenv("XDG_STATE_HOME", unusable)
        expected = tmp_path / "home" / ".local" / "state" / "cockpit" / "sessions"
        assert default_sessions_dir() == expected
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_sessions_dir() == expected


def test_the_journal_package_imports_only_the_standard_library() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import cockpit.journal; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(SRC_DIR)],
        capture_output=True,
        text=True,
        check=True,
    )
    foreign = set(result.stdout.split()) - set(sys.stdlib_module_names) - {"cockpit", "__main__"}
    assert foreign == set()
    assert "cockpit" in result.stdout.split()
