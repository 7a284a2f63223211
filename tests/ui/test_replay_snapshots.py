"""SVG snapshots of a paused replay, at 120x40 and 80x24, and once without colour.

The journal is the showcase's deploy rolled back after a RED stop point, played on the real
app on a fake clock; the replay stands paused at the rollback advice (``n`` five times).
Update with ``pytest --snapshot-update tests/ui/test_replay_snapshots.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cockpit.clock import FakeClock
from cockpit.engine.kinds import Kind
from cockpit.replay import ReplaySession
from cockpit.ui.replay import make_replay_app
from tests.support.replay import recorded_journal

pytestmark = pytest.mark.usefixtures("utc_timezone")

SnapCompare = Callable[..., bool]


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return recorded_journal(tmp_path_factory.mktemp("replay-snapshots"))[0]


async def _to_the_advice(pilot: Pilot[None]) -> None:
    await pilot.press(*["n"] * 5)
    session = pilot.app.session  # type: ignore[attr-defined]
    assert isinstance(session, ReplaySession)
    assert session.replayer.record.kind == Kind.ROLLBACK_ADVISED
    await pilot.pause()


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_paused_replay(size: tuple[int, int], snap_compare: SnapCompare, journal: Path) -> None:
    app = make_replay_app(ReplaySession.open(journal), real_clock=FakeClock())
    assert snap_compare(app, terminal_size=size, run_before=_to_the_advice)


def test_no_color_paused_replay(
    snap_compare: SnapCompare, journal: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR: the timeline's marks and the position read in characters alone."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_replay_app(ReplaySession.open(journal), real_clock=FakeClock())
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=_to_the_advice)
