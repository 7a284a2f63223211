"""The session when things break: a failed journal blocks new steps, never the rollback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.clock import FakeClock
from cockpit.engine import Refusal
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.journal import read_journal
from cockpit.sample import Sample, Status
from cockpit.session import Session
from tests.support.processes import wait_for

QUICK = Path(__file__).resolve().parents[1] / "data" / "session" / "quick.toml"


def executing(tmp_path: Path) -> Session:
    clock = FakeClock()
    session = Session.create(QUICK, sessions_dir=tmp_path, environ={}, clock=clock)
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
    session.submit(i.ConfirmReadback(mon, clock.wall(), typed="5m"))
    session.submit(i.ConfirmManualCheck(op, clock.wall(), "runbook"))
    sample = Sample("error-rate", Status.PASS, 0.1, "%", clock.wall(), "ok")
    session.submit(i.RecordSample(SYSTEM, clock.wall(), sample))
    session.submit(i.Go(op, clock.wall()))
    session.submit(i.Go(mon, clock.wall()))
    return session


def fail_fsync(session: Session) -> list[int]:
    calls: list[int] = []

    def broken(fd: int) -> None:
        calls.append(fd)
        raise OSError(5, "Input/output error")

    session.journal._fsync = broken
    return calls


async def test_a_failed_journal_blocks_new_steps(tmp_path: Path) -> None:
    session = executing(tmp_path)
    mon = session.crew.actor("monitor")
    calls = fail_fsync(session)
    with pytest.raises(Refusal, match="journal failed"):
        await session.act(i.VerifyStep(mon, session.clock.wall(), "deploy"))
    assert session.journal_failed is not None
    assert session.state.steps[0].verified_by is None  # not recorded, so not done
    with pytest.raises(Refusal, match="journal failed"):
        await session.act(i.VerifyStep(mon, session.clock.wall(), "deploy"))
    assert len(calls) == 1  # a failed fsync is never retried
    await session.close()


async def test_a_failed_journal_still_rolls_back(tmp_path: Path) -> None:
    session = executing(tmp_path)
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
    await session.act(i.VerifyStep(mon, session.clock.wall(), "deploy"))
    await session.act(i.RunStep(op, session.clock.wall(), "deploy"))
    await wait_for(lambda: session.state.steps[0].finished is not None, 20, "the step to finish")
    recorded = len(read_journal(session.journal_path))
    fail_fsync(session)
    await session.act(
        i.RollBackNow(op, session.clock.wall(), "journal is broken, roll back anyway")
    )
    rollback = session.state.rollback
    assert rollback is not None
    await wait_for(lambda: rollback.commands[0].finished, 20, "the rollback command to finish")
    output = session.session_dir / "rollback-1.out"
    assert output.read_text() == "rolling back\n"
    assert session.journal_failed is not None
    await session.close()
    # Nothing after the failure was written as if it were durable.
    assert len(read_journal(session.journal_path, allow_torn_tail=True)) <= recorded + 1


async def test_r_rolls_back_after_the_journal_failed_on_another_action(tmp_path: Path) -> None:
    # JOURNAL FAILED is on the screen (an fsync failed while recording the step's end, an
    # I/O error): new actions are refused, R never is.
    session = executing(tmp_path)
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
    await session.act(i.VerifyStep(mon, session.clock.wall(), "deploy"))
    await session.act(i.RunStep(op, session.clock.wall(), "deploy"))
    fail_fsync(session)
    await wait_for(lambda: session.journal_failed is not None, 20, "the journal to fail")
    with pytest.raises(Refusal, match="R still rolls back"):
        await session.act(i.Hold(op, session.clock.wall(), "disk trouble"))
    await session.act(i.RollBackNow(session.crew.anyone(), session.clock.wall(), "R"))
    rollback = session.state.rollback
    assert rollback is not None
    await wait_for(lambda: rollback.commands[0].finished, 20, "the rollback command to finish")
    assert rollback.commands[0].exit_code == 0
    assert (session.session_dir / "rollback-1.out").read_text() == "rolling back\n"
    assert any("ROLLING BACK NOW" in line for line in session.unrecorded_lines())
    await session.close()
