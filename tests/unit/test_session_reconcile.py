"""Resume reconciles every recorded intent with what really exists.

Each test starts from a real journal, written by the real writer, cut back to the moment a
SIGKILL would have left it, with the real processes (or their absence) that such a kill leaves
behind. The rule under test: a rollback recorded is run exactly once, and reaches a verdict; a
step recorded but never started is marked as not run, and the crew decides.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cockpit.engine import Phase, Refusal, StepStatus
from cockpit.engine import intents as i
from cockpit.journal import read_journal
from cockpit.runner import result_path_for
from cockpit.session import Session
from tests.support.processes import wait_for
from tests.support.rollback import (
    cut_after,
    level_sample,
    prepare_health,
    work_dir,
)

SUPPORT = Path(__file__).resolve().parents[1] / "support"


def phase_of(session: Session) -> Phase:
    """The phase, read through a call so that type narrowing does not stick."""
    return session.state.phase


def status_of(session: Session) -> StepStatus:
    """The first step's status, read through a call (see ``phase_of``)."""
    return session.state.steps[0].status


def runs_of_the_rollback(work: Path) -> int:
    path = work / "rollback-runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def records(journal: Path, kind: str) -> list[dict[str, object]]:
    return [dict(r.body) for r in read_journal(journal, allow_torn_tail=True) if r.kind == kind]


async def verify_with_samples(session: Session) -> None:
    """Feed PASS samples at the baseline until the rollback has a verdict."""

    def fed() -> bool:
        session.on_sample(level_sample(session))
        return session.state.rollback is not None and session.state.rollback.verdict is not None

    await wait_for(fed, 30, "the rollback's verdict")


async def rolled_back_once(tmp_path: Path) -> tuple[Path, Path]:
    """A session in its health window whose rollback really ran, from R to its result."""
    work = work_dir(tmp_path)
    journal = await prepare_health(tmp_path, work)
    session = Session.resume(journal, environ={"KILL_DIR": str(work)})
    await session.act(i.RollBackNow(session.crew.anyone(), session.clock.wall(), "R pressed"))
    rollback = session.state.rollback
    assert rollback is not None
    await wait_for(lambda: rollback.commands[0].finished, 30, "the rollback command to end")
    await session.close()
    assert runs_of_the_rollback(work) == 1
    return journal, work


async def test_a_rollback_recorded_but_never_started_starts_at_once_on_resume(
    tmp_path: Path,
) -> None:
    journal, work = await rolled_back_once(tmp_path)
    # Killed between the record and the process: rollback.started is the last record, and
    # there is no process, no output file, no result.
    cut_after(journal, "rollback.started")
    output = journal.with_suffix("") / "rollback-1.out"
    for leftover in (output, result_path_for(output)):
        leftover.unlink()
    (work / "rollback-runs").unlink()

    session = Session.resume(journal, environ={"KILL_DIR": str(work)})
    assert phase_of(session) is Phase.ROLLING_BACK
    assert await session.reattach_processes() == 1
    # Started before reattach_processes returned: nothing waits for a key or a tick.
    started = records(journal, "process.started")[-1]
    assert started["purpose"] == "rollback"
    assert started["found"] == "not started"
    await wait_for(
        lambda: session.state.rollback is not None and session.state.rollback.commands[0].finished,
        30,
        "the rollback to end",
    )
    await verify_with_samples(session)
    assert phase_of(session) is Phase.ROLLED_BACK
    assert runs_of_the_rollback(work) == 1
    # R while it runs or after: refused, truthfully.
    with pytest.raises(Refusal):
        await session.act(i.RollBackNow(session.crew.anyone(), session.clock.wall(), "again"))
    await session.close()
    assert runs_of_the_rollback(work) == 1
    assert any("STARTED NOW, on resume" in a for a in session.announcements)


async def test_a_rollback_that_ran_unrecorded_is_recorded_not_run_again(tmp_path: Path) -> None:
    journal, work = await rolled_back_once(tmp_path)
    # Killed after the supervisor took the job, before process.started was written: the
    # command ran to its end while the cockpit was down.
    cut_after(journal, "rollback.started")

    session = Session.resume(journal, environ={"KILL_DIR": str(work)})
    await session.reattach_processes()
    started = records(journal, "process.started")[-1]
    assert started["found"] == "ended"
    rollback = session.state.rollback
    assert rollback is not None
    await wait_for(lambda: rollback.commands[0].finished, 30, "the recorded end")
    assert rollback.commands[0].exit_code == 0
    await verify_with_samples(session)
    assert phase_of(session) is Phase.ROLLED_BACK
    await session.close()
    assert runs_of_the_rollback(work) == 1


async def test_killed_between_the_last_commands_end_and_the_verification_it_verifies(
    tmp_path: Path,
) -> None:
    # One decision, two records: "rollback command 1 finished", then "verifying". Killed
    # between the two (seen once in 35 SIGKILLs 50 ms after R), the resumed cockpit stood at
    # ROLLING BACK with neither the verification started nor a verdict, for ever.
    journal, work = await rolled_back_once(tmp_path)
    cut_after(journal, "rollback.command_finished")

    session = Session.resume(journal, environ={"KILL_DIR": str(work)})
    assert phase_of(session) is Phase.ROLLING_BACK
    session.tick()
    assert phase_of(session) is Phase.VERIFYING
    await verify_with_samples(session)
    assert phase_of(session) is Phase.ROLLED_BACK
    await session.close()
    assert runs_of_the_rollback(work) == 1  # verified, not run again


async def test_a_rollback_still_running_unrecorded_is_followed_to_its_end(tmp_path: Path) -> None:
    work = work_dir(tmp_path)
    journal = await prepare_health(tmp_path, work)
    (work / "hold").touch()  # the rollback command runs until this goes
    crashing = subprocess.Popen(
        [sys.executable, str(SUPPORT / "rollback_crash.py"), str(journal), str(work)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SUPPORT.parents[1] / "src")},
    )
    try:
        assert crashing.stdout is not None
        assert crashing.stdout.readline().strip() == "rolling back"
        crashing.send_signal(signal.SIGKILL)
        crashing.wait(timeout=10)
    finally:
        if crashing.poll() is None:
            crashing.kill()
    # As if the kill had come before process.started was written.
    cut_after(journal, "rollback.started")
    assert runs_of_the_rollback(work) == 1

    session = Session.resume(journal, environ={"KILL_DIR": str(work)})
    await session.reattach_processes()
    started = records(journal, "process.started")[-1]
    assert started["found"] == "running"
    rollback = session.state.rollback
    assert rollback is not None
    assert not rollback.commands[0].finished
    (work / "hold").unlink()
    await wait_for(lambda: rollback.commands[0].finished, 30, "the rollback to end")
    assert rollback.commands[0].exit_code == 0
    await verify_with_samples(session)
    assert phase_of(session) is Phase.ROLLED_BACK
    await session.close()
    assert runs_of_the_rollback(work) == 1


async def test_a_step_recorded_but_never_started_is_marked_not_run_and_can_run(
    tmp_path: Path,
) -> None:
    work = work_dir(tmp_path)
    journal = await prepare_health(tmp_path, work)
    cut_after(journal, "step.starting")
    step_output = journal.with_suffix("") / "step-1-deploy.out"
    for leftover in (step_output, result_path_for(step_output)):
        leftover.unlink()

    session = Session.resume(journal, environ={"KILL_DIR": str(work)})
    assert status_of(session) is StepStatus.STARTING
    await session.reattach_processes()
    assert status_of(session) is StepStatus.PENDING
    assert records(journal, "step.not_started")[0]["step"] == "deploy"
    # The crew decides: nothing was deployed, so R has nothing to undo; run it again.
    with pytest.raises(Refusal, match="nothing has been deployed"):
        await session.act(i.RollBackNow(session.crew.anyone(), session.clock.wall(), "R"))
    await session.act(i.RunStep(session.crew.actor("operator"), session.clock.wall(), "deploy"))
    await wait_for(lambda: phase_of(session) is Phase.HEALTH, 30, "the step to run again")
    await session.close()
