"""Resume a session in its health window, press R, report, then wait to be SIGKILLed.

Usage: python rollback_crash.py JOURNAL KILL_DIR
Prints "rolling back" once the rollback's process has started.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from cockpit.engine import intents as i
from cockpit.session import Session


async def main(journal: Path, work: Path) -> None:
    session = Session.resume(journal, environ={"KILL_DIR": str(work)})
    await session.act(i.RollBackNow(session.crew.anyone(), session.clock.wall(), "R pressed"))
    print("rolling back", flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
