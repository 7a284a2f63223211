"""Sessions that die around R: a real journal in its health window, and cutting a journal
back to a record, as a SIGKILL at that moment would have left it.

The profile (tests/data/session/rollback.toml) has one quick step, a metric read from the file
``level`` and a rollback that appends a line to ``rollback-runs`` each time it runs and waits
while the file ``hold`` exists, all in the run's directory (``${var:KILL_DIR}``).
"""

from __future__ import annotations

import json
from pathlib import Path

from cockpit.engine import Phase
from cockpit.engine import intents as i
from cockpit.journal.anchors import anchors_path_for
from cockpit.sample import Sample, Status
from cockpit.session import Session
from tests.support.processes import wait_for

PROFILE = Path(__file__).resolve().parents[1] / "data" / "session" / "rollback.toml"


def work_dir(root: Path) -> Path:
    """The run's directory (``${var:KILL_DIR}``), with the metric's file at a PASS level."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    (work / "level").write_text("10\n")
    return work


def level_sample(session: Session, value: float = 10.0) -> Sample:
    """A sample of the metric, as its probe would measure it now."""
    status = Status.PASS if value < 50 else Status.FAIL
    return Sample("level", status, value, "", session.clock.wall(), f"{value:g}")


async def prepare_health(root: Path, work: Path) -> Path:
    """A real session journal, written by the real writer, in its health window; closed."""
    session = Session.create(
        PROFILE, sessions_dir=root / "sessions", environ={"KILL_DIR": str(work)}
    )
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
    now = session.clock.wall
    session.submit(i.ConfirmReadback(mon, now(), typed="5m"))
    session.on_sample(level_sample(session))
    session.submit(i.Go(op, now()))
    session.submit(i.Go(mon, now()))
    await session.act(i.VerifyStep(mon, now(), "deploy", ("true",)))
    await session.act(i.RunStep(op, now(), "deploy"))
    await wait_for(lambda: session.state.phase is Phase.HEALTH, 30, "the health window")
    await session.close()
    return session.journal_path


def cut_after(journal: Path, kind: str) -> int:
    """Cut ``journal`` (and its anchor file) right after its first record of ``kind``, as if
    the cockpit had been killed there; return how many records are left."""
    lines = journal.read_bytes().splitlines(keepends=True)
    keep = next(n for n, line in enumerate(lines, 1) if json.loads(line)["kind"] == kind)
    journal.write_bytes(b"".join(lines[:keep]))
    anchors = anchors_path_for(journal)
    anchors.write_bytes(b"".join(anchors.read_bytes().splitlines(keepends=True)[:keep]))
    return keep
