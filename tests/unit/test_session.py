"""A real session, headless: demo service, real probes, real processes, real journal."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.demo.stack import DemoStack
from cockpit.engine import Phase, Refusal, events_from_records, replay
from cockpit.engine import intents as i
from cockpit.evidence import write_evidence
from cockpit.journal import read_journal, verify_journal
from cockpit.session import Session
from tests.support.demo import demo_profile_on_any_host
from tests.support.processes import wait_for


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoStack]:
    demo = DemoStack(tmp_path / "demo", rate=40.0)
    demo.start()
    try:
        for key, value in demo.env().items():
            monkeypatch.setenv(key, value)
        yield demo
    finally:
        demo.stop()


def phase_of(session: Session) -> Phase:
    """The phase, read through a call so that type narrowing does not stick."""
    return session.state.phase


async def test_deploy_v2_goes_red_and_rollback_is_verified(
    stack: DemoStack, tmp_path: Path
) -> None:
    # Capacity checks any host passes: this test must not depend on the machine being idle.
    profile = demo_profile_on_any_host(tmp_path)
    session = Session.create(
        profile,
        sessions_dir=tmp_path / "sessions",
        environ=dict(os.environ),
        evidence_writer=write_evidence,
    )
    op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
    await session.start()
    try:
        now = session.clock.wall
        assert phase_of(session) is Phase.BRIEFING
        with pytest.raises(Refusal, match="reads back"):
            await session.act(i.Go(op, now()))
        await session.act(i.ConfirmReadback(mon, now(), typed="5m"))
        await session.act(i.ConfirmManualCheck(op, now(), "runbook"))
        await wait_for(lambda: not session.state.checks_green(), 60, "every readiness check GREEN")
        with pytest.raises(Refusal, match="nothing has been deployed"):
            await session.act(i.RollBackNow(op, now()))

        async def go() -> bool:
            try:
                await session.act(i.Go(op, now()))
            except Refusal:
                return False
            return True

        await wait_for(lambda: all(m.last for m in session.state.metrics.values()), 15, "samples")
        # The baseline needs fresh PASS samples; the demo is healthy, so GO is accepted.
        assert await go(), session.state.checks_green()
        await session.act(i.Go(mon, now()))
        assert phase_of(session) is Phase.EXECUTING

        await session.act(i.VerifyStep(mon, now(), "deploy-v2"))
        await session.act(i.RunStep(op, now(), "deploy-v2"))
        step = session.state.steps[0]
        assert step.pid is not None  # recorded before anyone waits on it
        await wait_for(
            lambda: session.state.steps[0].finished is not None, 30, "deploy step to end"
        )
        assert session.state.steps[0].exit_code == 0
        await wait_for(lambda: session.state.advisory is not None, 40, "the stop point to go RED")
        advisory = session.state.advisory or ""
        # v2 is bad on two counts; whichever metric crosses its limit first names the advisory.
        assert "HTTP 5xx rate" in advisory or "p99 latency" in advisory, advisory

        await session.act(i.RollBackNow(mon, now(), "error rate RED"))
        rollback = session.state.rollback
        assert rollback is not None
        assert rollback.commands[0].pid is not None  # the process exists when act() returns
        await wait_for(lambda: session.state.phase.finished, 90, "the rollback verdict")
        assert phase_of(session) is Phase.ROLLED_BACK, session.state.rollback
        assert session.state.rollback is not None
        assert session.state.rollback.snapshot is not None
        await wait_for(lambda: bool(session.evidence), 30, "the evidence to be written")
        summary = next(p for p in session.evidence if p.name == "DEPLOYMENT-REPORT.md")
        assert "ROLLED BACK — VERIFIED" in summary.read_text()
        assert any("ROLLING BACK" in a or "rollback" in a.lower() for a in session.announcements)
    finally:
        await session.close()

    verified = verify_journal(session.journal_path)
    assert verified.ok, verified
    records = read_journal(session.journal_path)
    kinds = [r.kind for r in records]
    assert kinds.index("rollback.started") < kinds.index(
        "process.started", kinds.index("rollback.started")
    )
    assert "refused" in kinds  # the early GO and R were recorded as refusals
    assert replay(events_from_records(records)) == session.state
    assert all(r.t_plus is not None for r in records[kinds.index("execution.started") :])
