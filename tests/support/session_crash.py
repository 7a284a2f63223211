"""Run a session up to a running step, report the journal, then wait to be SIGKILLed.

Usage: python session_crash.py PROFILE SESSIONS_DIR
Prints "journal <path>" and "running" when the step's process is running.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.sample import Sample, Status
from cockpit.session import Session


async def main(profile: Path, sessions: Path) -> None:
    session = Session.create(profile, sessions_dir=sessions, environ={})
    now = session.clock.wall
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
    print("journal", session.journal_path, flush=True)
    session.submit(i.ConfirmReadback(mon, now(), typed="5m"))
    session.submit(i.ConfirmManualCheck(op, now(), "runbook"))
    session.submit(
        i.RecordSample(SYSTEM, now(), Sample("error-rate", Status.PASS, 0.1, "%", now(), "ok"))
    )
    session.submit(i.Go(op, now()))
    session.submit(i.Go(mon, now()))
    await session.act(i.VerifyStep(mon, now(), "deploy"))
    await session.act(i.RunStep(op, now(), "deploy"))
    print("running", flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
