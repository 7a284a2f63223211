"""``cockpit sessions``: which sessions exist, which a cockpit holds, which can be resumed."""

from __future__ import annotations

import json
from pathlib import Path

from cockpit.engine import intents as i
from cockpit.journal import verify_journal
from cockpit.session import Session
from cockpit.session_list import list_sessions
from tests.support.demo import run_cockpit

PROFILE = Path(__file__).resolve().parents[1] / "data" / "session" / "quick.toml"


def new_session(sessions: Path) -> Session:
    # Sessions left unfinished one after another: each new one takes the lock over.
    return Session.create(PROFILE, sessions_dir=sessions, environ={}, take_over=True)


def table(sessions: Path) -> str:
    done = run_cockpit("sessions", "--sessions-dir", str(sessions))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


async def test_an_open_session_is_marked_open_and_not_offered_for_resume(tmp_path: Path) -> None:
    session = new_session(tmp_path)
    try:
        [entry] = list_sessions(tmp_path)
        assert entry.open, "the live cockpit's writer lock was not seen"
        assert entry.phase == "BRIEFING"
        assert not entry.resumable
        out = table(tmp_path)
        assert "open" in out and "--resume" not in out, out
    finally:
        await session.close()


async def test_a_session_left_unfinished_is_offered_for_resume(tmp_path: Path) -> None:
    session = new_session(tmp_path)
    session.submit(i.Hold(session.crew.actor("crew"), session.clock.wall(), reason="pager"))
    await session.close()
    [entry] = list_sessions(tmp_path)
    assert (entry.open, entry.finished, entry.resumable) == (False, False, True)
    assert entry.phase == "HOLD: BRIEFING"
    out = table(tmp_path)
    assert f"cockpit run --resume {session.journal_path}" in out, out


async def test_an_ended_session_is_listed_as_ended_and_newest_comes_first(tmp_path: Path) -> None:
    older = new_session(tmp_path)
    await older.close()
    ended = new_session(tmp_path)
    ended.submit(i.Abort(ended.crew.actor("operator"), ended.clock.wall(), reason="window moved"))
    await ended.close()
    entries = list_sessions(tmp_path)
    assert len(entries) == 2
    by_path = {Path(e.journal): e for e in entries}
    assert by_path[ended.journal_path].phase == "ABORTED"
    assert by_path[ended.journal_path].finished
    assert not by_path[ended.journal_path].resumable
    assert [Path(e.journal) for e in entries] == sorted(by_path, reverse=True)
    doc = json.loads(
        run_cockpit("sessions", "--sessions-dir", str(tmp_path), "--json").stdout or "null"
    )
    assert {d["journal"]: d["resumable"] for d in doc} == {
        str(older.journal_path): True,
        str(ended.journal_path): False,
    }


async def test_a_damaged_journal_is_named_with_its_first_bad_record(tmp_path: Path) -> None:
    session = new_session(tmp_path)
    session.submit(i.Hold(session.crew.actor("crew"), session.clock.wall(), reason="pager"))
    await session.close()
    data = session.journal_path.read_bytes()
    assert data.count(b'"reason":"pager"') == 1
    session.journal_path.write_bytes(data.replace(b'"reason":"pager"', b'"reason":"pagex"'))
    report = verify_journal(session.journal_path)
    assert not report.ok and not report.torn_tail
    [entry] = list_sessions(tmp_path)
    assert entry.phase == "DAMAGED"
    assert entry.problem.startswith(f"record {report.first_bad_seq}:"), entry.problem
    assert not entry.resumable
    out = table(tmp_path)
    assert f"cockpit verify {session.journal_path}" in out, out


def test_a_file_that_is_not_a_journal_is_named_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "notes.jsonl").write_text("hello\n")
    [entry] = list_sessions(tmp_path)
    assert entry.phase == "UNREADABLE" and entry.problem
    assert "notes.jsonl" in table(tmp_path)


def test_no_sessions_and_bad_directories(tmp_path: Path) -> None:
    assert "no sessions in" in table(tmp_path / "missing")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    done = run_cockpit("sessions", "--sessions-dir", str(a_file))
    assert done.returncode == 2
    assert f"{a_file}: is a regular file, not a directory" in done.stderr
    assert "Traceback" not in done.stderr
