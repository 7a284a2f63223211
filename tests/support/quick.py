"""The quick test profile (tests/data/session/quick.toml) driven through its first step, as
the crew would: readback, the manual check, a sample for the baseline, both GOs, verify, run."""

from __future__ import annotations

from cockpit.engine import SYSTEM
from cockpit.engine import intents as i
from cockpit.sample import Sample, Status
from cockpit.session import Session
from tests.support.processes import wait_for


def error_rate_sample(session: Session, value: float = 0.1) -> None:
    """A passing sample of the error rate, measured now."""
    now = session.clock.wall()
    status = Status.PASS if value < 1 else Status.FAIL
    session.submit(i.RecordSample(SYSTEM, now, Sample("error-rate", status, value, "%", now, "ok")))


async def run_the_first_step(session: Session) -> None:
    """From the briefing to the first step finished."""
    now = session.clock.wall
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
    session.submit(i.ConfirmReadback(mon, now(), typed="5m"))
    session.submit(i.ConfirmManualCheck(op, now(), "runbook"))
    error_rate_sample(session)
    session.submit(i.Go(op, now()))
    session.submit(i.Go(mon, now()))
    await session.act(i.VerifyStep(mon, now(), "deploy"))
    await session.act(i.RunStep(op, now(), "deploy"))
    await wait_for(lambda: session.state.steps[0].finished is not None, 30, "the first step")
