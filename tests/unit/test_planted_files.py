"""Files it writes cannot be redirected: another OS user's directories and links are refused.

The attack (issue 7, §5): another user owns, or can write to, the directory the cockpit
writes into. They plant a session whose ``step-1-deploy.out`` is a symbolic link, and
``run --resume`` overwrites the link's target; or they read evidence written 0644. The
cockpit now refuses such a directory as ssh refuses such a ``~/.ssh``, never follows a link
where it creates a file, and keeps its files 0600 and directories 0700.

These tests plant things as a real second OS user (``tests.support.other_user``): as root
(as CI runs) it is created on first use; otherwise they skip, or fail under ``CI=true``.
"""

from __future__ import annotations

import os
import pty
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.engine import intents as i
from cockpit.evidence import write_evidence
from cockpit.journal import Actor, Journal, JournalUnreadable, new_session_path
from cockpit.journal.sessions import default_sessions_dir
from cockpit.session import Session
from cockpit.session_list import list_sessions
from tests.support.cli import run_cli
from tests.support.demo import run_cockpit
from tests.support.other_user import OtherUser, second_user

PROFILE = Path(__file__).resolve().parents[1] / "data" / "session" / "quick.toml"
SYSTEM = Actor(role="system", user="cockpit")


@pytest.fixture
def other() -> Iterator[OtherUser]:
    with second_user() as user:
        yield user


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def a_session(sessions: Path) -> Path:
    """A real journal of a session left on hold; returns its path."""
    session = Session.create(PROFILE, sessions_dir=sessions, environ={})
    session.submit(i.Hold(session.crew.actor("operator"), session.clock.wall(), reason="test"))
    session.journal.close()
    return session.journal_path


def refused(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """The command said no in one line on stderr with exit 2, naming what it refused."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    for fragment in fragments:
        assert fragment in done.stderr, done.stderr


def run_in_a_terminal(*args: str, timeout: float = 60) -> tuple[int, str]:
    """``cockpit ARGS`` with a terminal (a pty) on stdin and stdout: the run and watch commands
    get past their terminal check there. Returns the exit status and stderr."""
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cockpit", *args],
            stdin=terminal,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "COLUMNS": "120", "LINES": "40"},
        )
    finally:
        os.close(terminal)
        os.close(controller)
    return done.returncode, done.stderr


# ---------------------------------------------------------------- another user's directory


def test_a_sessions_directory_of_another_user_is_refused_everywhere(
    other: OtherUser, tmp_path: Path
) -> None:
    # The case: world-writable, and owned by someone else.
    sessions = other.shared / "sessions"
    other.run('mkdir -m 777 "$1"', sessions)
    owner = f"{sessions}: is owned by {other.name} (uid {other.uid})"
    with pytest.raises(OSError, match="is owned by"):
        new_session_path(sessions, "quick", 0.0)
    with pytest.raises(OSError, match="is owned by"):
        Session.create(PROFILE, sessions_dir=sessions, environ={})
    with pytest.raises(OSError, match="is owned by"):
        list_sessions(sessions)
    assert list(sessions.iterdir()) == [], "nothing was written there"
    refused(run_cockpit("sessions", "--sessions-dir", str(sessions)), owner)
    refused(run_cockpit("watch", "--sessions-dir", str(sessions)), owner)
    refused(run_cockpit("run", str(PROFILE), "--sessions-dir", str(sessions)), owner)
    journal = a_session(tmp_path / "mine")
    refused(run_cockpit("report", str(journal), "--out", str(sessions)), owner)
    assert list(sessions.iterdir()) == []


def test_a_state_directory_of_another_user_is_refused(
    other: OtherUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    # XDG_STATE_HOME in a directory that user owns (0755): the sessions directory made inside
    # it would be ours, but they could swap it for their own at any time.
    state = other.shared / "state"
    other.run('mkdir -m 755 "$1"', state)
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    with pytest.raises(OSError, match=f"lies in {state}, owned by {other.name}"):
        new_session_path(default_sessions_dir(), "quick", 0.0)
    for args in (("run", str(PROFILE)), ("demo",)):
        outcome = run_cli(*args, env={"XDG_STATE_HOME": str(state)})
        assert outcome.status == 2, outcome
        assert outcome.stderr.count("\n") == 1, outcome.stderr
        assert f"lies in {state}, owned by {other.name}" in outcome.stderr
    assert list(state.iterdir()) == [], "nothing was made there"


def test_run_resume_refuses_a_session_another_user_planted(
    other: OtherUser, tmp_path: Path
) -> None:
    # Their session directory holds a real journal and a step output that is a link to a file
    # of ours: resuming (and then running the step) would truncate and overwrite it.
    precious = tmp_path / "precious"
    precious.write_bytes(b"keep me\n")
    source = other.shared / "source.jsonl"
    shutil.copy(a_session(tmp_path / "mine"), source)
    source.chmod(0o644)
    sessions = other.shared / "sessions"
    other.run(
        'mkdir -m 777 "$1"; cp "$2" "$1/s.jsonl"; mkdir "$1/s";'
        ' ln -s "$3" "$1/s/step-1-deploy.out"; chmod 666 "$1/s.jsonl"',
        sessions,
        source,
        precious,
    )
    journal = sessions / "s.jsonl"
    status, stderr = run_in_a_terminal("run", "--resume", str(journal))
    assert status == 2, stderr
    assert f"{sessions}: is owned by {other.name}" in stderr
    assert "Traceback" not in stderr
    refused(run_cockpit("report", str(journal)), f"is owned by {other.name}")
    assert precious.read_bytes() == b"keep me\n"
    assert sorted(p.name for p in (sessions / "s").iterdir()) == ["step-1-deploy.out"]


def test_a_session_directory_of_another_user_is_refused_inside_our_own(
    other: OtherUser, tmp_path: Path
) -> None:
    # Our sessions directory, but the session's own directory belongs to someone else (it was
    # planted while the parent was open to them, or handed over).
    sessions = tmp_path / "sessions"
    journal = a_session(sessions)
    session_dir = journal.with_suffix("")
    session_dir.rmdir()
    shared_dir = other.shared / "theirs"
    other.run('mkdir -m 777 "$1"', shared_dir)
    shared_dir.rename(session_dir)  # root moves it in; it keeps its owner
    refused(run_cockpit("report", str(journal)), f"{session_dir}: is owned by {other.name}")
    status, stderr = run_in_a_terminal("run", "--resume", str(journal))
    assert status == 2 and f"{session_dir}: is owned by {other.name}" in stderr, stderr
    assert list(session_dir.iterdir()) == []


# ---------------------------------------------------------------- our own, but open to others


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o1777])
def test_a_sessions_directory_others_may_write_to_is_refused(tmp_path: Path, mode: int) -> None:
    sessions = tmp_path / "sessions"
    journal = a_session(sessions)
    sessions.chmod(mode)
    loose = f"{sessions}: is writable by group or others (mode {mode:04o})"
    with pytest.raises(OSError, match="writable by group or others"):
        new_session_path(sessions, "quick", 0.0)
    refused(run_cockpit("sessions", "--sessions-dir", str(sessions)), loose)
    refused(run_cockpit("run", str(PROFILE), "--sessions-dir", str(sessions)), loose)
    refused(run_cockpit("report", str(journal)), loose)
    refused(run_cockpit("report", str(journal), "--out", str(sessions)), loose)
    status, stderr = run_in_a_terminal("run", "--resume", str(journal))
    assert status == 2 and loose in stderr, stderr


def test_a_symbolic_link_as_the_sessions_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    journal = a_session(real)
    link = tmp_path / "sessions"
    link.symlink_to(real)
    linked = f"{link}: is a symbolic link"
    with pytest.raises(OSError, match="is a symbolic link"):
        new_session_path(link, "quick", 0.0)
    refused(run_cockpit("sessions", "--sessions-dir", str(link)), linked)
    refused(run_cockpit("watch", "--sessions-dir", str(link)), linked)
    refused(run_cockpit("run", str(PROFILE), "--sessions-dir", str(link)), linked)
    refused(run_cockpit("report", str(journal), "--out", str(link)), linked)
    assert sorted(p.name for p in real.iterdir()) == sorted(
        [journal.name, journal.name + ".anchors", journal.stem, "locks"]
    )


# ---------------------------------------------------------------- links where a file goes


def test_a_link_at_the_journal_or_its_anchor_file_is_never_followed(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"")
    sessions = tmp_path / "sessions"
    sessions.mkdir(mode=0o700)
    journal = sessions / "s.jsonl"
    (sessions / "s.jsonl.anchors").symlink_to(target)
    with (
        pytest.raises(JournalUnreadable, match="is a symbolic link"),
        Journal.open(journal) as opened,
    ):
        opened.append("note", {"text": "hello"}, actor=SYSTEM, wall=0.0)
    assert target.read_bytes() == b""
    other_journal = a_session(tmp_path / "elsewhere")
    before = other_journal.read_bytes()
    link = sessions / "link.jsonl"
    link.symlink_to(other_journal)
    with (
        pytest.raises(JournalUnreadable, match="is a symbolic link"),
        Journal.open(link) as opened,
    ):
        opened.append("note", {"text": "hello"}, actor=SYSTEM, wall=0.0)
    assert other_journal.read_bytes() == before


def test_a_link_at_an_evidence_file_is_replaced_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"precious")
    journal = a_session(tmp_path / "sessions")
    out = tmp_path / "evidence"
    out.mkdir(mode=0o700)
    (out / "DEPLOYMENT-REPORT.md").symlink_to(target)
    write_evidence(journal, out)
    assert target.read_bytes() == b"precious"
    assert not (out / "DEPLOYMENT-REPORT.md").is_symlink()


# ---------------------------------------------------------------- modes


def test_evidence_files_are_0600_and_new_directories_0700(tmp_path: Path) -> None:
    journal = a_session(tmp_path / "sessions")
    before = os.umask(0o022)  # the usual umask: it left evidence world-readable
    try:
        out = tmp_path / "published" / "shop-api"
        written = write_evidence(journal, out)
        # `report --out` into an existing 0755 directory of ours: allowed, files still private.
        shared = tmp_path / "shared"
        shared.mkdir(mode=0o755)
        written += write_evidence(journal, shared)
        written += write_evidence(journal)  # beside the journal
    finally:
        os.umask(before)
    assert len(written) == 18
    assert {path: mode_of(path) for path in written} == dict.fromkeys(written, 0o600)
    for directory in (tmp_path / "published", out, journal.with_suffix("")):
        assert mode_of(directory) == 0o700, directory
