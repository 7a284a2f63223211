"""A cockpit killed mid-step is resumed from its journal and follows the step to its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.engine import StepStatus, events_from_records, replay
from cockpit.journal import JournalUnreadable, read_journal, verify_journal
from cockpit.session import Session
from tests.support.processes import wait_for

DATA = Path(__file__).resolve().parents[1] / "data" / "session"
CRASH = Path(__file__).resolve().parents[1] / "support" / "session_crash.py"


def status_of(session: Session) -> StepStatus:
    """The first step's status, read through a call so that type narrowing does not stick."""
    return session.state.steps[0].status


def crash_mid_step(profile: Path, sessions: Path) -> Path:
    """Start a cockpit, let its step start, SIGKILL it; return the journal path."""
    proc = subprocess.Popen(
        [sys.executable, str(CRASH), str(profile), str(sessions)],
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    journal = Path(proc.stdout.readline().split(" ", 1)[1].strip())
    assert proc.stdout.readline().strip() == "running"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return journal


async def test_resume_follows_a_step_that_outlived_the_cockpit(tmp_path: Path) -> None:
    journal = crash_mid_step(DATA / "slow-step.toml", tmp_path)
    session = Session.resume(journal, environ={})
    assert session.state.steps[0].status is StepStatus.RUNNING
    assert await session.reattach_processes() == 1
    await wait_for(lambda: session.state.steps[0].finished is not None, 20, "the step to finish")
    assert status_of(session) is StepStatus.SUCCEEDED
    output = session.session_dir / "step-1-deploy.out"
    assert output.read_text() == "deploying\ndone\n"
    await session.close()
    assert verify_journal(journal).ok
    records = read_journal(journal)
    assert [r.kind for r in records].count("session.resumed") == 1
    assert replay(events_from_records(records)) == session.state


async def test_resume_records_a_step_that_ended_while_the_cockpit_was_down(tmp_path: Path) -> None:
    journal = crash_mid_step(DATA / "slow-step.toml", tmp_path)
    result = journal.with_suffix("") / "step-1-deploy.out.result.json"
    await wait_for(result.exists, 30, "the step's supervisor to write its result")
    session = Session.resume(journal, environ={})
    assert await session.reattach_processes() == 1
    await wait_for(
        lambda: session.state.steps[0].finished is not None, 20, "the result to be recorded"
    )
    assert session.state.steps[0].exit_code == 0
    await session.close()


async def test_resume_of_a_finished_session_reattaches_nothing(tmp_path: Path) -> None:
    journal = crash_mid_step(DATA / "slow-step.toml", tmp_path)
    first = Session.resume(journal, environ={})
    await first.reattach_processes()
    await wait_for(lambda: first.state.steps[0].finished is not None, 20, "the step to finish")
    await first.close()
    second = Session.resume(journal, environ={})
    assert await second.reattach_processes() == 0
    await second.close()


def test_resume_never_creates_a_journal(tmp_path: Path) -> None:
    missing = tmp_path / "gone.jsonl"
    with pytest.raises(JournalUnreadable, match="no such journal"):
        Session.resume(missing, environ={})
    assert list(tmp_path.iterdir()) == []
