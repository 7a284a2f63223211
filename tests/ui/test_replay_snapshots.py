"""SVG snapshots of a paused replay, at 120x40 and 80x24, and once without colour; and with
a Prometheus history (from a real local server answering as Prometheus) at 200x50, 120x40
and 80x24.

The journal is the showcase's deploy rolled back after a RED stop point, played on the real
app on a fake clock; the replay stands paused at the rollback advice (``n`` five times).
Update with ``pytest --snapshot-update tests/ui/test_replay_snapshots.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cockpit.clock import FakeClock
from cockpit.engine.kinds import Kind
from cockpit.replay import ReplaySession
from cockpit.replay_history import Status
from cockpit.ui.replay import make_replay_app
from tests.support.replay import recorded_journal
from tests.support.replay_prometheus import (
    Endpoint,
    endpoint,
    profile_with_prometheus,
    range_answer,
)
from tests.support.ui import SHOWCASE_PROFILE, WALL, wait_until

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


@pytest.fixture(scope="module")
def fake_prometheus() -> Iterator[Endpoint]:
    """A real local HTTP server answering range queries as Prometheus would: a slow wave,
    the same for the same range (the snapshot's)."""
    with endpoint() as fake:
        fake.answer = range_answer(lambda t: f"{0.5 + 0.45 * math.sin((t - WALL) / 90):.3f}")
        yield fake


@pytest.fixture(scope="module")
def journal_with_prometheus(
    tmp_path_factory: pytest.TempPathFactory, fake_prometheus: Endpoint
) -> Path:
    """The same scene, its error rate read from Prometheus (the fake one)."""
    directory = tmp_path_factory.mktemp("replay-prometheus-snapshots")
    profile = profile_with_prometheus(
        directory, fake_prometheus.url, window="15m", base=SHOWCASE_PROFILE
    )
    return recorded_journal(directory, profile=profile)[0]


@pytest.mark.parametrize(
    "size", [(200, 50), (120, 40), (80, 24)], ids=["200x50", "120x40", "80x24"]
)
def test_paused_replay_with_prometheus_history(
    size: tuple[int, int], snap_compare: SnapCompare, journal_with_prometheus: Path
) -> None:
    """Paused at the advice: the error rate's sparkline is the Prometheus history up to that
    moment, a bar, then the journal's samples; the line under the rows says which is which."""
    session = ReplaySession.open(journal_with_prometheus)
    app = make_replay_app(session, real_clock=FakeClock())

    async def history_then_advice(pilot: Pilot[None]) -> None:
        await wait_until(pilot, lambda: session.history.status is not Status.READING, "the history")
        assert session.history.status is Status.READ, session.history
        await _to_the_advice(pilot)

    assert snap_compare(app, terminal_size=size, run_before=history_then_advice)
