"""The watching terminal's screen: the same cockpit, following the journal, with one key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.clock import FakeClock
from cockpit.engine import Phase
from cockpit.engine import intents as i
from cockpit.ui.app import make_app
from cockpit.ui.screens.dialogs import ReasonDialog
from cockpit.watch import WatchedSession
from tests.support.ui import FAST_PROFILE, WALL, new_session, text_of, wait_until

pytestmark = pytest.mark.usefixtures("utc_timezone")


async def test_the_watching_screen_follows_the_crew_and_offers_only_quit(tmp_path: Path) -> None:
    clock = FakeClock(WALL)
    live = new_session(FAST_PROFILE, tmp_path, clock, {"COCKPIT_UI_DIR": str(tmp_path)})
    watcher = WatchedSession.watch(live.journal_path, clock=clock)
    app = make_app(watcher, clock=clock)  # its loop follows the journal file
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            keys = text_of(app, "#keys")
            assert "WATCHING" in keys and "read-only" in keys, keys
            assert "ROLL BACK NOW" not in keys, keys
            await pilot.press("h")  # HOLD asks a reason on the crew's screen; here nothing
            await pilot.pause()
            assert not isinstance(app.screen, ReasonDialog)
            assert "read the rollback triggers back" in text_of(app, "#next")

            live.submit(i.ConfirmReadback(live.crew.actor("monitor"), clock.wall(), typed="5m"))
            await wait_until(
                pilot,
                lambda: "read the rollback triggers back" not in text_of(app, "#next"),
                "the readback to reach the watching screen",
            )
            assert watcher.state.phase is Phase.CHECKLIST

            await pilot.press("ctrl+r")  # rolls back from anywhere on the crew's screen
            await pilot.pause()
            assert "only watches" in text_of(app, "#notice")
            assert live.state.rollback is None

            await pilot.press("q")  # no "quit during execution?" question for a watcher
            await pilot.pause()
        assert app.return_code == 0
    finally:
        await live.close()
