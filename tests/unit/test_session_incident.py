"""An incident session, headless: the journal's first records, the announcements that go out
before the event loop runs, the checks an incident runs, R with a webhook that hangs, resume."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cockpit.clock import FakeClock
from cockpit.engine import Phase
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.journal import read_journal
from cockpit.session import Session
from tests.support.processes import wait_for
from tests.support.ui import FAST_PROFILE, WALL
from tests.unit.test_announce import HookServer


def incident_profile(tmp_path: Path, *, webhook: bool = False) -> Path:
    text = FAST_PROFILE.read_text(encoding="utf-8")
    if webhook:
        text += '\n[announce]\nwebhook = "${env:COCKPIT_TEST_HOOK}"\n'
    path = tmp_path / "fast-incident.toml"
    path.write_text(text, encoding="utf-8")
    return path


def open_incident(tmp_path: Path, environ: dict[str, str] | None = None) -> Session:
    workdir = tmp_path / "ui"
    workdir.mkdir(exist_ok=True)
    return Session.create(
        incident_profile(tmp_path, webhook=bool(environ)),
        sessions_dir=tmp_path / "sessions",
        environ={"COCKPIT_UI_DIR": str(workdir), **(environ or {})},
        clock=FakeClock(WALL),
        kind="incident",
    )


@pytest.fixture
async def incident(tmp_path: Path) -> AsyncIterator[Session]:
    session = open_incident(tmp_path)
    yield session
    await session.close()


async def test_the_journal_opens_with_the_declaration_at_t0(incident: Session) -> None:
    records = read_journal(incident.journal_path)
    assert [r.kind for r in records] == [
        Kind.SESSION_STARTED,
        Kind.INCIDENT_DECLARED,
        Kind.LOCK_TAKEN,  # an incident holds the deploy lock too: no deploy starts under it
    ]
    assert records[0].body["kind"] == "incident"
    assert records[1].t_plus == 0.0
    assert incident.state.t0 == records[1].wall == WALL
    assert incident.state.phase is Phase.INCIDENT


async def test_only_the_checks_that_guard_the_rollback_run(incident: Session) -> None:
    await incident.run_checks()
    measured = {k for k, c in incident.state.checks.items() if c.sample is not None}
    assert measured == {"rollback-dry-run"}  # not the smoke tests: they guard the deploy


def test_r_is_recorded_and_started_while_the_webhook_hangs(tmp_path: Path) -> None:
    # As `cockpit incident` does it: the session (and INCIDENT DECLARED) before any event loop.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    hook = HookServer("hang", port=listener.getsockname()[1])
    session = open_incident(tmp_path, {"COCKPIT_TEST_HOOK": hook.url()})
    assert session.webhook is not None
    session.webhook.timeout = 30.0  # it never answers while the test runs

    async def crew_presses_r() -> None:
        server = await asyncio.start_server(hook.handle, sock=listener)
        clock = asyncio.create_task(session.run_clock())
        try:
            events = await session.act(i.RollBackNow(session.crew.anyone(), WALL, "R pressed"))
            assert [e.kind for e in events] == [Kind.ROLLBACK_STARTED]
            assert events[0].body["before"] == ["readback", "command verification"]
            # act() returns once the rollback process exists: nothing waited for the webhook.
            rollback = session.state.rollback
            assert rollback is not None and rollback.commands[0].pid is not None
            await wait_for(lambda: len(hook.bodies) >= 1, 10, "the first announcement posted")
            # Announced before the event loop ran, the declaration goes out first, at T0.
            assert hook.bodies[0]["kind"] == Kind.INCIDENT_DECLARED
            assert hook.bodies[0]["text"].startswith("INCIDENT DECLARED: fast-web")
            assert hook.bodies[0]["t_plus"] == 0.0
        finally:
            clock.cancel()
            await asyncio.gather(clock, return_exceptions=True)
            hook.release.set()
            await session.close()
            server.close()

    asyncio.run(crew_presses_r())


async def test_a_resumed_incident_is_still_an_incident_and_r_still_works(tmp_path: Path) -> None:
    first = open_incident(tmp_path)
    path = first.journal_path
    await first.close()
    resumed = Session.resume(
        path, environ={"COCKPIT_UI_DIR": str(tmp_path / "ui")}, clock=FakeClock(WALL + 60)
    )
    try:
        assert resumed.state.is_incident
        assert resumed.state.t0 == WALL
        await resumed.act(i.RollBackNow(resumed.crew.anyone(), WALL + 61))
        assert resumed.state.phase is Phase.ROLLING_BACK
    finally:
        await resumed.close()
