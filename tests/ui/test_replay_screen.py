"""The replay on the real cockpit screen, driven by its keys through the Pilot.

Playing is moved by a fake "real" clock and an explicit :meth:`ReplayScreen.play_tick`, so no
test waits for a timer to fire.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Digits, Input

from cockpit.clock import FakeClock
from cockpit.engine.kinds import Kind
from cockpit.journal import read_journal
from cockpit.replay import ReplaySession, fold
from cockpit.ui import render
from cockpit.ui.replay import ReplayApp, ReplayScreen, make_replay_app
from cockpit.ui.widgets.metrics import MetricRow
from tests.support.replay import change_a_byte, recorded_journal
from tests.support.ui import clock_shown, output_lines, text_of

pytestmark = pytest.mark.usefixtures("utc_timezone")


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recorded_journal(tmp_path_factory.mktemp("replay-screen"))[0]


def _replay(journal: Path) -> tuple[ReplayApp, ReplaySession, FakeClock]:
    session = ReplaySession.open(journal)
    real = FakeClock()
    return make_replay_app(session, real_clock=real), session, real


def _error_rate_row(app: ReplayApp) -> str:
    row = next(r for r in app.screen.query(MetricRow) if r.metric_id == "error-rate")
    return str(row.render())


def _shown(box: Input) -> bool:
    return box.display  # (read again: mypy keeps what an earlier assert said)


async def test_the_keys_drive_the_replay(journal: Path) -> None:
    records = read_journal(journal)
    app, session, real = _replay(journal)
    replayer = session.replayer
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        status = text_of(app, "#keys")
        assert "REPLAY" in status and "PAUSED" in status and f"record 1/{len(records)}" in status
        assert text_of(app, "#timeline").startswith("├●")

        await pilot.press("right", "right", "right")
        assert replayer.position == 4
        await pilot.press("left")
        assert replayer.position == 3 and session.state == fold(records[:3])

        await pilot.press("n")  # the first decision: a GO
        assert replayer.record.kind == Kind.GO
        assert "record" in text_of(app, "#keys") and " go" in text_of(app, "#keys")
        await pilot.press("n", "n", "n")  # the second GO, the step started and finished
        assert replayer.record.kind == Kind.STEP_FINISHED
        healthy = _error_rate_row(app)
        await pilot.press("n")
        assert replayer.record.kind == Kind.ROLLBACK_ADVISED
        await pilot.pause()
        assert "ROLLBACK ADVISED" in text_of(app, "#banner")
        # The sparklines are the journal's samples as they were at this record.
        assert clock_shown(app)
        assert _error_rate_row(app) != healthy and "FAIL" in _error_rate_row(app)
        assert "rollout checkout v2.4.0 weight=10" in "\n".join(output_lines(app))

        await pilot.press("plus", "plus", "plus", "minus")
        assert replayer.speed == 4
        await pilot.press("space")
        assert replayer.playing and "PLAYING 4x" in text_of(app, "#keys")
        before = replayer.wall
        real.advance(1.5)
        screen.play_tick()  # the timer's tick, moved by the fake real clock
        await pilot.pause()
        assert replayer.wall == before + 6.0
        assert session.state == fold([r for r in records if r.wall <= before + 6.0])
        assert screen.query_one("#timer", Digits).value == render.clock_text(
            session.state, before + 6.0
        )
        await pilot.press("space")
        assert "PAUSED 4x" in text_of(app, "#keys")
        real.advance(10)
        screen.play_tick()
        assert replayer.wall == before + 6.0  # paused: real time passing moves nothing

        await pilot.press("g")
        await pilot.pause()
        box = screen.query_one("#goto", Input)
        assert _shown(box) and box.has_focus
        await pilot.press("0", "colon", "0", "5", "enter")  # keys typed go to the input
        await pilot.pause()
        t0 = session.state.t0
        assert t0 is not None and replayer.wall == t0 + 5.0
        assert not _shown(box)
        assert "T+00:05" in text_of(app, "#keys")

        await pilot.press("g")
        await pilot.pause()
        await pilot.press("a", "b", "c", "enter")
        await pilot.pause()
        assert "cannot read 'abc'" in text_of(app, "#notice")
        assert _shown(box)  # open to be corrected; the replay did not move
        assert replayer.wall == t0 + 5.0
        await pilot.press("escape")
        await pilot.pause()
        assert not _shown(box)

        await pilot.press("ctrl+r")  # nothing in a replay acts
        await pilot.pause()
        assert "nothing here acts" in text_of(app, "#notice")

        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_playing_to_the_end_stops_at_the_last_record(journal: Path) -> None:
    app, session, real = _replay(journal)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.press("space", *["plus"] * 6)
        assert session.replayer.speed == 64
        real.advance(60)
        screen.play_tick()
        await pilot.pause()
        assert session.replayer.at_end and not session.replayer.playing
        assert "ROLLED BACK" in text_of(app, "#banner")
        status = text_of(app, "#keys")
        assert "PAUSED" in status and len(status) <= 78, status
        assert text_of(app, "#timeline").rstrip().endswith("T+00:28")


async def test_a_damaged_journal_is_replayed_up_to_the_damage_and_says_so(
    journal: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(journal.read_bytes())
    change_a_byte(damaged, 25)
    app, session, _ = _replay(damaged)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*["right"] * 40)
        assert session.replayer.position == 24
        notice = text_of(app, "#notice")
        assert "journal damaged at record 25 (line 25)" in notice, notice
        assert "the replay stops at record 24" in notice
        assert "✘" in text_of(app, "#timeline")
        assert session.state == fold(read_journal(journal)[:24])


async def test_a_journal_changed_during_the_replay_stops_it_and_says_so(
    journal: Path, tmp_path: Path
) -> None:
    copied = tmp_path / "changed.jsonl"
    copied.write_bytes(journal.read_bytes())
    records = read_journal(copied)
    app, session, _ = _replay(copied)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("right")
        change_a_byte(copied, len(records) - 1)  # after the replay verified it
        await pilot.press("g")
        await pilot.press(*"9:00", "enter")  # past the end: reads the changed record
        notice = text_of(app, "#notice")
        assert "changed after the replay verified it" in notice, notice
        position = session.replayer.position
        assert position < len(records) - 1
        assert session.state == fold(records[:position])
