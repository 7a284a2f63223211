"""The journal's disk fills during a step: R still rolls back, verifies, and says what is
missing from the record. A real full filesystem (a small tmpfs), real processes."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from cockpit.engine import Phase, Refusal
from cockpit.engine import intents as i
from cockpit.journal import Actor, JournalFailed, read_journal
from cockpit.session import Session
from tests.support.filesystems import small_tmpfs
from tests.support.processes import wait_for
from tests.support.rollback import level_sample, work_dir

PROFILE = Path(__file__).resolve().parents[1] / "data" / "session" / "full_disk.toml"


async def test_r_rolls_back_and_verifies_when_the_disk_is_full(tmp_path: Path) -> None:
    work = work_dir(tmp_path)
    with small_tmpfs(tmp_path / "state") as state:
        env = {"KILL_DIR": str(work), "FULL_DIR": str(state)}
        session = Session.create(PROFILE, sessions_dir=state / "sessions", environ=env)
        op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
        crew = Actor(role="crew", user="ada or grace", tty=None)
        now = session.clock.wall
        session.submit(i.ConfirmReadback(mon, now(), typed="5m"))
        session.on_sample(level_sample(session))
        session.submit(i.Go(op, now()))
        session.submit(i.Go(mon, now()))
        await session.act(i.VerifyStep(mon, now(), "deploy", ()))
        await session.act(i.RunStep(op, now(), "deploy"))  # fills the disk
        await wait_for(lambda: session.state.steps[0].finished, 30, "the step to fill the disk")

        def sampled_until_the_journal_fails() -> bool:
            # What the probes and the clock do every second: a sample, a flush.
            session.on_sample(level_sample(session))
            with contextlib.suppress(JournalFailed):
                session.flush()
            return session.journal.failed is not None

        await wait_for(sampled_until_the_journal_fails, 30, "the journal to fail")

        # The way back never waits for the record.
        await session.act(i.RollBackNow(crew, now(), "R pressed: the disk is full"))
        rollback = session.state.rollback
        assert rollback is not None
        await wait_for(lambda: rollback.commands[0].finished, 30, "the rollback to end")
        assert rollback.commands[0].exit_code == 0  # learnt without a result file
        assert rollback.commands[0].why is None

        def verified() -> bool:
            session.on_sample(level_sample(session))
            return rollback.verdict is not None

        await wait_for(verified, 30, "the verdict")
        assert session.state.phase is Phase.ROLLED_BACK
        assert (work / "rollback-runs").read_text() == "ran\n"
        # Anything else new cannot be recorded, so it is not done; R is named as the way out.
        with pytest.raises(Refusal, match="R still rolls back"):
            await session.act(i.Hold(crew, now(), "the disk is full"))

        # The screen and the exit message say exactly what is not in the journal.
        missing = "\n".join(session.unrecorded_lines())
        assert "ROLLING BACK NOW" in missing
        assert "ROLLED BACK — VERIFIED" in missing
        assert "metric samples" in missing
        await session.close()
        # Nothing after the failure pretends to be on record.
        kinds = [r.kind for r in read_journal(session.journal_path, allow_torn_tail=True)]
        assert "rollback.started" not in kinds
