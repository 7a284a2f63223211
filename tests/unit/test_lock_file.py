"""The deploy lock with its default backend, lock files on this host: one crew at a time.

Real processes hold the locks (a second Python process runs the session), real ``flock``,
real SIGKILL; the refusals are read as a person reads them.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.engine import SYSTEM, Phase, Refusal
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.evidence import write_evidence
from cockpit.journal import read_journal
from cockpit.lock import LockHeld, LockKey
from cockpit.lock.local import FileLocks
from cockpit.lock.process import start_time
from cockpit.sample import Sample, Status
from cockpit.session import Session
from tests.support.demo import run_cockpit
from tests.support.processes import wait_for

PROFILE = Path(__file__).resolve().parents[1] / "data" / "session" / "quick.toml"
HOLDER = Path(__file__).resolve().parents[1] / "support" / "lock_holder.py"
KEY = LockKey("quick", "production")


@pytest.fixture(autouse=True)
def no_host_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """The locks live beside the test's sessions, never in a directory the host shares."""
    monkeypatch.delenv("COCKPIT_RUNTIME_DIR", raising=False)


class Holder:
    """A session held open by another process."""

    def __init__(self, sessions: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HOLDER), str(PROFILE), str(sessions)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith("journal "), line
        self.journal = Path(line.split(" ", 1)[1].strip())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Holder]:
    held = Holder(tmp_path / "sessions")
    try:
        yield held
    finally:
        if held.process.poll() is None:
            held.kill()


def kinds(journal: Path) -> list[str]:
    return [r.kind for r in read_journal(journal)]


def test_a_second_session_on_the_service_is_refused_naming_the_holder(
    holder: Holder, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    with pytest.raises(LockHeld) as refused:
        Session.create(PROFILE, sessions_dir=sessions, environ={})
    message = refused.value.message
    assert f"(pid {holder.process.pid})" in message
    assert "quick/production: held by" in message
    assert f"cockpit watch {holder.journal}" in message
    assert f"cockpit attach {holder.journal.stem}" in message
    # Refused before any file: only the holder's journal is there.
    assert sorted(sessions.glob("*.jsonl")) == [holder.journal]
    # The command says the same, in one line, exit status 2.
    done = run_cockpit("sessions", "--sessions-dir", str(sessions))
    assert "LOCKS" in done.stdout and f"(pid {holder.process.pid})" in done.stdout, done.stdout
    assert f"cockpit watch {holder.journal}" in done.stdout
    # And for a program: the lock is in the session's entry of `sessions --json`.
    done = run_cockpit("sessions", "--json", "--sessions-dir", str(sessions))
    (entry,) = json.loads(done.stdout)
    (lock,) = entry["locks"]
    assert lock["state"] == "held" and lock["holder"]["pid"] == holder.process.pid
    assert (lock["service"], lock["environment"]) == ("quick", "production")


def test_the_run_command_refuses_in_one_line(holder: Holder, tmp_path: Path) -> None:
    from tests.unit.test_planted_files import run_in_a_terminal

    status, stderr = run_in_a_terminal(
        "run", str(PROFILE), "--sessions-dir", str(holder.journal.parent)
    )
    assert status == 2, stderr
    assert stderr.startswith("error: refused: quick/production: held by"), stderr
    assert "Traceback" not in stderr


def test_a_dead_holders_lock_is_taken_over_only_when_asked_and_the_journal_says_so(
    holder: Holder, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    holder.kill()
    with pytest.raises(LockHeld, match="whose cockpit is gone") as refused:
        Session.create(PROFILE, sessions_dir=sessions, environ={})
    assert f"cockpit run --resume {holder.journal}" in refused.value.message
    assert "--take-over" in refused.value.message
    session = Session.create(PROFILE, sessions_dir=sessions, environ={}, take_over=True)
    try:
        taken = next(r for r in read_journal(session.journal_path) if r.kind == Kind.LOCK_TAKEN)
        [over] = taken.body["taken_over"]
        assert f"(pid {holder.process.pid})" in over and "quick/production" in over
        assert taken.body["holder"]["pid"] == os.getpid()
        assert session.state.lock is not None and session.state.lock.held
    finally:
        asyncio.run(session.close())


def test_a_pid_that_was_reused_is_not_the_holder(tmp_path: Path) -> None:
    # pid 1 runs, but not since the time the record names: the holder is gone.
    locks = FileLocks(tmp_path / "sessions" / "locks", shared=False)
    (tmp_path / "sessions").mkdir(mode=0o700)
    real_start = start_time(1)
    assert real_start is not None
    for start, words in ((real_start + 1, "whose cockpit is gone"), (real_start, "held by")):
        record = {
            "version": 1,
            "service": "quick",
            "environment": "production",
            "state": "held",
            "holder": {
                "user": "ada",
                "uid": os.geteuid(),
                "host": os.uname().nodename,
                "pid": 1,
                "start": start,
                "session": "/nowhere/s.jsonl",
            },
            "since": 1.0,
            "why": "test",
            "written": 1.0,
        }
        locks.directory.mkdir(mode=0o700, exist_ok=True)
        (locks.directory / f"{KEY.name}.{os.geteuid()}.json").write_text(json.dumps(record))
        with pytest.raises(LockHeld, match=words):
            Session.create(PROFILE, sessions_dir=tmp_path / "sessions", environ={})


def test_a_planted_or_garbled_record_is_ignored_and_named(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    directory = sessions / "locks"
    directory.mkdir(parents=True, mode=0o700)
    sessions.chmod(0o700)
    (directory / f"{KEY.name}.{os.geteuid()}.json").write_bytes(b'{"version": 1, "state": NaN}')
    (directory / f"{KEY.name}.{os.geteuid() + 1}.json").write_text("{}")  # not that uid's file
    session = Session.create(PROFILE, sessions_dir=sessions, environ={})
    try:
        done = run_cockpit("sessions", "--sessions-dir", str(sessions))
        assert "quick/production: held by" in done.stdout
        assert f"not a regular file of uid {os.geteuid() + 1}; ignored" in done.stdout
    finally:
        asyncio.run(session.close())


async def rolled_back(session: Session) -> None:
    """Drive a quick.toml session through its step to a verified rollback."""
    now = session.clock.wall
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")

    def sample() -> None:
        session.submit(
            i.RecordSample(SYSTEM, now(), Sample("error-rate", Status.PASS, 0.1, "%", now(), "ok"))
        )

    session.submit(i.ConfirmReadback(mon, now(), typed="5m"))
    session.submit(i.ConfirmManualCheck(op, now(), "runbook"))
    sample()
    session.submit(i.Go(op, now()))
    session.submit(i.Go(mon, now()))
    await session.act(i.VerifyStep(mon, now(), "deploy"))
    await session.act(i.RunStep(op, now(), "deploy"))
    await wait_for(lambda: session.state.steps[0].finished is not None, 30, "the step to end")
    await session.act(i.RollBackNow(mon, now(), "R pressed: the error rate"))
    await wait_for(lambda: session.state.phase is Phase.VERIFYING, 30, "the rollback command")
    for _ in range(3):
        sample()
    assert session.state.phase is Phase.ROLLED_BACK


async def test_after_a_rollback_the_lock_stays_until_unlock_records_its_release(
    tmp_path: Path,
) -> None:
    sessions = tmp_path / "sessions"
    session = Session.create(
        PROFILE, sessions_dir=sessions, environ={}, evidence_writer=write_evidence
    )
    try:
        await rolled_back(session)
        await wait_for(lambda: bool(session.evidence), 30, "the evidence")
    finally:
        await session.close()
    assert session.state.lock is not None and session.state.lock.kept
    assert "reason: R pressed: the error rate" in session.state.lock.kept
    report = (session.journal_path.with_suffix("") / "DEPLOYMENT-REPORT.md").read_text()
    assert "Deploy lock kept: rolled back at" in report

    with pytest.raises(LockHeld, match=r"ROLLED BACK at .* reason: R pressed") as refused:
        Session.create(PROFILE, sessions_dir=sessions, environ={}, take_over=True)
    assert "cockpit unlock quick --environment production --reason TEXT" in refused.value.message

    done = run_cockpit("sessions", "--sessions-dir", str(sessions))
    assert "ROLLED BACK at" in done.stdout and "cockpit unlock quick" in done.stdout
    done = run_cockpit("sessions", "--json", "--sessions-dir", str(sessions))
    (entry,) = json.loads(done.stdout)
    assert [lock["state"] for lock in entry["locks"]] == ["rolled back"]
    done = run_cockpit("unlock", "quick", "--reason", " ", "--sessions-dir", str(sessions))
    assert done.returncode == 2 and "--reason is empty" in done.stderr
    done = run_cockpit(
        "unlock", "quick", "--reason", "v1 is sound again", "--sessions-dir", str(sessions)
    )
    assert done.returncode == 0, done.stderr
    released = read_journal(session.journal_path)[-1]
    assert released.kind == Kind.LOCK_RELEASED
    assert released.body["reason"] == "v1 is sound again"
    assert released.actor.user == pwd.getpwuid(os.geteuid()).pw_name
    again = Session.create(PROFILE, sessions_dir=sessions, environ={})
    try:
        done = run_cockpit("unlock", "quick", "--reason", "now", "--sessions-dir", str(sessions))
        assert done.returncode == 1 and "its session may still run" in done.stderr, done.stderr
    finally:
        await again.close()  # quit before execution: the lock is released
    assert read_journal(again.journal_path)[-1].kind == Kind.LOCK_RELEASED
    done = run_cockpit("unlock", "quick", "--reason", "again", "--sessions-dir", str(sessions))
    assert done.returncode == 1 and "nothing to release" in done.stderr, done.stderr


async def test_a_session_that_ends_well_releases_its_lock(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    session = Session.create(PROFILE, sessions_dir=sessions, environ={})
    await session.act(i.Abort(session.crew.actor("operator"), session.clock.wall(), "moved"))
    await session.close()
    assert Kind.LOCK_RELEASED in kinds(session.journal_path)
    record = FileLocks(sessions / "locks", shared=False).read(KEY)
    assert record is not None and record.state == "released"
    second = Session.create(PROFILE, sessions_dir=sessions, environ={})
    await second.close()


async def test_a_lost_lock_blocks_new_steps_never_the_rollback(tmp_path: Path) -> None:
    session = Session.create(PROFILE, sessions_dir=tmp_path / "s", environ={})
    try:
        now = session.clock.wall
        op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
        session.submit(i.ConfirmReadback(mon, now(), typed="5m"))
        session.submit(i.ConfirmManualCheck(op, now(), "runbook"))
        session.submit(
            i.RecordSample(SYSTEM, now(), Sample("error-rate", Status.PASS, 0.1, "%", now(), "ok"))
        )
        session.submit(i.LockChanged(SYSTEM, now(), "lost", {"reason": "etcd unreachable"}))
        with pytest.raises(Refusal, match=r"LOCK LOST \(etcd unreachable\)"):
            session.submit(i.Go(op, now()))
        assert session.lock is not None
        session.submit(i.LockChanged(SYSTEM, now(), "taken", session.lock.details(again=True)))
        session.submit(i.Go(op, now()))
        session.submit(i.Go(mon, now()))
        await session.act(i.VerifyStep(mon, now(), "deploy"))
        await session.act(i.RunStep(op, now(), "deploy"))
        session.submit(i.LockChanged(SYSTEM, now(), "lost", {"reason": "lease expired"}))
        assert session.state.lock is not None and not session.state.lock.held
        await session.act(i.RollBackNow(mon, now(), "R pressed"))
        rollback = session.state.rollback
        assert rollback is not None and rollback.commands[0].pid is not None
    finally:
        await session.close()
    assert kinds(session.journal_path).count(Kind.LOCK_LOST) == 2


async def test_a_resumed_session_takes_its_own_lock_back(holder: Holder) -> None:
    holder.kill()
    session = Session.resume(holder.journal, environ={})
    try:
        assert session.state.lock is not None and session.state.lock.held
        taken = [r for r in read_journal(holder.journal) if r.kind == Kind.LOCK_TAKEN]
        assert len(taken) == 2 and taken[-1].body["again"] is True
        assert f"(pid {holder.process.pid})" in taken[-1].body["taken_over"][0]
    finally:
        await session.close()
