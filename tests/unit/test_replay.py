"""The replay's fold and clock: the state at every record is the live state at that record.

The journals are real: a showcase scene played on the real app on a fake clock (a deploy
rolled back after a RED stop point, and an incident mitigated), copied with their anchors.
Playing is driven by telling the replay how much real time passed; nothing sleeps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.engine import Phase, State
from cockpit.engine.kinds import Kind
from cockpit.journal import JournalDamaged, JournalUnreadable, read_journal
from cockpit.replay import (
    DECISIONS,
    Replayer,
    ReplaySession,
    TimeError,
    fold,
    parse_t_plus,
    read_indexed,
    read_replayable,
)
from tests.support.replay import change_a_byte, recorded_journal

SCENES = ("rolled-back", "incident-mitigated")


@pytest.fixture(scope="module")
def journals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, State]]:
    directory = tmp_path_factory.mktemp("replay")
    return {scene: recorded_journal(directory, scene) for scene in SCENES}


@pytest.mark.parametrize("scene", SCENES)
def test_the_state_at_every_record_is_the_fold_of_the_records_before_it(
    scene: str, journals: dict[str, tuple[Path, State]]
) -> None:
    path, live_end = journals[scene]
    records = read_journal(path)
    replayer = Replayer(records)
    assert replayer.state == fold(records[:1])
    for n in range(2, len(records) + 1):
        replayer.step()
        assert replayer.position == n
        assert replayer.wall == records[n - 1].wall
        assert replayer.state == fold(records[:n]), f"record {n} ({records[n - 1].kind})"
    # ... and the last one is what the live session had when the scene ended.
    assert replayer.state == live_end
    assert replayer.state.phase in (Phase.ROLLED_BACK, Phase.MITIGATED)
    # Stepping back undoes exactly one record at a time.
    for n in range(len(records) - 1, 0, -1):
        replayer.step(-1)
        assert replayer.state == fold(records[:n]), f"back to record {n}"


@pytest.mark.parametrize("checkpoint_every", [3, 256])
def test_jumping_to_a_record_equals_stepping_to_it(
    checkpoint_every: int,
    journals: dict[str, tuple[Path, State]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("cockpit.replay.CHECKPOINT_EVERY", checkpoint_every)
    records = read_journal(journals["rolled-back"][0])
    stepped = Replayer(records)
    jumper = Replayer(records)
    jumper.go_to_record(len(records))  # then back and forth: every jump from the far side
    for n in range(1, len(records) + 1):
        if n > 1:
            stepped.step()
        jumper.go_to_record(n)
        assert jumper.state == stepped.state, f"record {n}"
        assert (jumper.position, jumper.wall) == (stepped.position, stepped.wall)
        jumper.go_to_record(len(records) + 1 - n)


def test_next_decision_stops_at_each_decision_in_order(
    journals: dict[str, tuple[Path, State]],
) -> None:
    records = read_journal(journals["rolled-back"][0])
    replayer = Replayer(records)
    kinds = []
    while replayer.next_decision():
        kinds.append(replayer.record.kind)
    assert kinds == [r.kind for r in records if r.kind in DECISIONS]
    assert kinds[:4] == [Kind.GO, Kind.GO, Kind.STEP_STARTING, Kind.STEP_FINISHED]
    assert kinds[-3:] == [Kind.ROLLBACK_ADVISED, Kind.ROLLBACK_STARTED, Kind.ROLLBACK_VERIFIED]
    assert not replayer.next_decision()


def test_playing_folds_the_records_in_their_own_time(
    journals: dict[str, tuple[Path, State]],
) -> None:
    records = read_journal(journals["rolled-back"][0])
    replayer = Replayer(records)
    assert replayer.advance(5.0) == 0  # paused: nothing moves
    replayer.toggle()
    start = replayer.wall
    replayer.advance(0.5)
    assert replayer.wall == start + 0.5
    assert replayer.state == fold([r for r in records if r.wall <= start + 0.5])
    replayer.faster()
    replayer.faster()
    assert replayer.speed == 4
    replayer.advance(2.0)  # 8 s of the session
    assert replayer.wall == start + 8.5
    assert replayer.position == sum(1 for r in records if r.wall <= start + 8.5)
    for _ in range(10):
        replayer.faster()
    assert replayer.speed == 64
    replayer.advance(3600.0)  # past the end: stops at the last record, paused
    assert replayer.at_end and not replayer.playing
    assert replayer.state == fold(records)
    for _ in range(10):
        replayer.slower()
    assert replayer.speed == 1
    replayer.toggle()  # play again from the end: from the first record
    assert _playing(replayer) and replayer.position == 1


def _playing(replayer: Replayer) -> bool:
    return replayer.playing  # (read again: mypy keeps what an earlier assert said)


def test_going_to_a_t_plus_time_folds_everything_up_to_it(
    journals: dict[str, tuple[Path, State]],
) -> None:
    records = read_journal(journals["rolled-back"][0])
    replayer = Replayer(records)
    t0 = replayer.t0
    assert t0 is not None and t0 == fold(records).t0
    assert replayer.go_to_t_plus(12.0) == 12.0
    assert replayer.wall == t0 + 12.0
    assert replayer.state == fold([r for r in records if r.wall <= t0 + 12.0])
    assert replayer.state.t_plus(replayer.wall) == 12.0
    reached = replayer.go_to_t_plus(10_000.0)  # beyond the journal: its last record
    assert replayer.at_end and reached == records[-1].wall - t0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12:30", 750.0),
        ("750s", 750.0),
        ("750", 750.0),
        ("T+12:30", 750.0),
        ("+0:05", 5.0),
        ("1:02:03", 3723.0),
        ("12m30s", 750.0),
        (" 2m ", 120.0),
        ("1h", 3600.0),
    ],
)
def test_a_typed_t_plus_time(text: str, seconds: float) -> None:
    assert parse_t_plus(text) == seconds


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "type a time after T0"),
        ("abc", "cannot read 'abc'"),
        ("12:75", "up to 59"),
        ("-5m", "before T0"),
        ("12:30:", "cannot read"),
        ("5x", "cannot read"),
        ("1e999", "cannot read"),
    ],
)
def test_a_bad_t_plus_time_says_why(text: str, says: str) -> None:
    with pytest.raises(TimeError, match=says):
        parse_t_plus(text)


def test_a_damaged_journal_replays_up_to_the_damage_and_says_where(
    journals: dict[str, tuple[Path, State]], tmp_path: Path
) -> None:
    source = journals["rolled-back"][0]
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(source.read_bytes())
    good = read_journal(path)
    middle = len(good) // 2
    change_a_byte(path, middle)

    records, damage = read_replayable(path)
    assert damage is not None and damage.seq == middle and not damage.torn_tail
    assert records == good[: middle - 1]  # nothing from the damaged record on
    session = ReplaySession.open(path)
    session.replayer.go_to_record(10_000)
    assert session.replayer.last == middle - 1
    assert session.state == fold(good[: middle - 1])
    said = damage.describe(session.replayer.last)
    assert f"record {middle} (line {middle})" in said
    assert f"the replay stops at record {middle - 1}" in said
    assert "changed after writing" in said


def test_a_torn_last_line_is_said_and_the_records_before_it_replay(
    journals: dict[str, tuple[Path, State]], tmp_path: Path
) -> None:
    data = journals["rolled-back"][0].read_bytes()
    path = tmp_path / "torn.jsonl"
    path.write_bytes(data + data.split(b"\n")[3][:40])  # a crash mid-write, no anchor for it
    records, damage = read_replayable(path)
    assert damage is not None and damage.torn_tail
    assert len(records) == data.count(b"\n")
    assert "journal torn at record" in damage.describe(len(records))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "nothing to replay: the journal is empty"),
        (b"hello\nworld\n", "not a cockpit journal"),
    ],
)
def test_what_is_not_a_journal_is_refused(content: bytes, says: str, tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(JournalUnreadable, match=says):
        ReplaySession.open(path)


def test_the_first_record_damaged_leaves_nothing_to_replay(
    journals: dict[str, tuple[Path, State]], tmp_path: Path
) -> None:
    path = tmp_path / "first.jsonl"
    path.write_bytes(journals["rolled-back"][0].read_bytes())
    change_a_byte(path, 1)
    with pytest.raises(JournalUnreadable, match="nothing to replay: journal damaged at record 1"):
        ReplaySession.open(path)


@pytest.mark.parametrize("scene", SCENES)
def test_a_replay_read_again_from_the_file_is_the_fold_at_every_record(
    scene: str, journals: dict[str, tuple[Path, State]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small blocks and few checkpoints, so that a short journal crosses every boundary: the
    # index halves itself twice, stepping back builds the fine ladder.
    monkeypatch.setattr("cockpit.journal.index.FIRST_BLOCK", 2)
    monkeypatch.setattr("cockpit.journal.index.MAX_BLOCKS", 8)
    monkeypatch.setattr("cockpit.replay.CHECKPOINT_EVERY", 3)
    monkeypatch.setattr("cockpit.replay.MAX_CHECKPOINTS", 4)
    path, live_end = journals[scene]
    records = read_journal(path)
    index, damage = read_indexed(path)
    assert damage is None and index.count == len(records) and index.blocks <= 8
    assert index.block > 2  # halved
    assert index.kept == [
        (n, r)
        for n, r in enumerate(records, 1)
        if r.kind in DECISIONS
        or r.kind in (Kind.EXECUTION_STARTED, Kind.PROCESS_STARTED, Kind.ROLLBACK_COMMAND_FINISHED)
    ]
    replayer, listed = Replayer(index), Replayer(records)
    assert replayer.t0 == listed.t0 and replayer.decisions() == listed.decisions()
    replayer.go_to_record(len(records))
    assert replayer.state == live_end and replayer.record == records[-1]
    for n in range(len(records) - 1, 0, -1):
        replayer.step(-1)
        assert replayer.state == fold(records[:n]), f"back to record {n}"
        assert (replayer.record, replayer.wall) == (records[n - 1], records[n - 1].wall)
    assert replayer.held <= 4 + 1 + 16 + 1
    for record in records:  # by time: the same record reached as with the whole list
        replayer.go_to_wall(record.wall)
        listed.go_to_wall(record.wall)
        assert (replayer.position, replayer.wall) == (listed.position, listed.wall)
        assert replayer.state == listed.state


def test_a_journal_changed_after_it_was_read_is_not_replayed_further(
    journals: dict[str, tuple[Path, State]], tmp_path: Path
) -> None:
    path = tmp_path / "changed.jsonl"
    path.write_bytes(journals["rolled-back"][0].read_bytes())
    records = read_journal(path)
    session = ReplaySession.open(path, prometheus=False)
    replayer = session.replayer
    replayer.go_to_record(len(records) // 2)
    change_a_byte(path, len(records) - 2)  # after the replay verified the journal
    with pytest.raises(JournalDamaged, match="changed after the replay verified it"):
        replayer.go_to_record(len(records))
    # Nothing from the changed block was folded in: the state is still a fold of the records.
    assert replayer.position < len(records) - 2
    assert session.state == fold(records[: replayer.position])
