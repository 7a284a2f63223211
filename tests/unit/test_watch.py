"""A second terminal watches a session through its journal: it follows, and never writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.clock import FakeClock
from cockpit.engine import Phase, Refusal
from cockpit.engine import intents as i
from cockpit.journal import JournalDamaged, JournalUnreadable
from cockpit.session import Session
from cockpit.watch import WatchedSession
from tests.support.demo import run_cockpit
from tests.support.ui import FAST_PROFILE, WALL, feed, new_session


def live_session(tmp_path: Path) -> tuple[Session, FakeClock]:
    clock = FakeClock(WALL)
    return new_session(FAST_PROFILE, tmp_path, clock, {"COCKPIT_UI_DIR": str(tmp_path)}), clock


async def test_the_watcher_follows_the_live_state_record_by_record(tmp_path: Path) -> None:
    live, clock = live_session(tmp_path)
    watcher = WatchedSession.watch(live.journal_path)
    try:
        assert watcher.state == live.state
        seen: list[list[str]] = []
        watcher.listeners.append(lambda events: seen.append([e.kind for e in events]))
        live.submit(i.ConfirmReadback(live.crew.actor("monitor"), clock.wall(), typed="5m"))
        feed(live, clock, {"error-rate": 0.3, "p99": 120.0}, count=3)
        live.flush()  # samples reach the journal in batches
        live.submit(i.Hold(live.crew.actor("crew"), clock.wall(), reason="pager went off"))
        new = watcher.follow()
        assert [r.kind for r in new] == ["readback.confirmed", "samples", "hold"]
        assert watcher.state == live.state
        assert watcher.state.phase is Phase.CHECKLIST
        assert watcher.state.hold is not None
        assert seen and seen[-1][-1] == "hold"
        assert watcher.follow() == []  # nothing new: nothing applied twice
        assert watcher.state == live.state
    finally:
        await live.close()
        await watcher.close()


async def test_the_watcher_refuses_every_action_and_writes_nothing(tmp_path: Path) -> None:
    live, clock = live_session(tmp_path)
    watcher = WatchedSession.watch(live.journal_path)
    before = live.journal_path.read_bytes()
    try:
        for intent in (
            i.ConfirmReadback(watcher.crew.actor("monitor"), clock.wall(), typed="5m"),
            i.RollBackNow(watcher.crew.actor("crew"), clock.wall()),
        ):
            with pytest.raises(Refusal, match="only watches"):
                await watcher.act(intent)
            with pytest.raises(Refusal, match="only watches"):
                watcher.submit(intent)
        with pytest.raises(Refusal, match="only watches"):
            await watcher.run_checks()
        await watcher.close()
        assert live.journal_path.read_bytes() == before
        # The watcher held no lock: the cockpit that runs the session still records.
        live.submit(i.ConfirmReadback(live.crew.actor("monitor"), clock.wall(), typed="5m"))
        assert live.state.phase is Phase.CHECKLIST
    finally:
        await live.close()


async def test_a_record_changed_under_the_watcher_is_reported_not_shown(tmp_path: Path) -> None:
    live, clock = live_session(tmp_path)
    live.submit(i.Hold(live.crew.actor("crew"), clock.wall(), reason="pager"))
    watcher = WatchedSession.watch(live.journal_path)
    try:
        data = live.journal_path.read_bytes()
        live.journal_path.write_bytes(data.replace(b'"reason":"pager"', b'"reason":"pagex"'))
        with pytest.raises(JournalDamaged):
            watcher.follow()
    finally:
        await live.close()
        await watcher.close()


def test_watching_what_is_not_a_journal_is_refused_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(JournalUnreadable, match="no such journal"):
        WatchedSession.watch(tmp_path / "missing.jsonl")
    done = run_cockpit("watch", "--sessions-dir", str(tmp_path))
    assert done.returncode == 2
    assert f"no cockpit has a session open in {tmp_path}" in done.stderr
    assert "Traceback" not in done.stderr
