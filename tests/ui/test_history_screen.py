"""Pilot tests of the metric history on screen: drawn apart from the live samples, "no
history" for sources that have none, a failure said on the row, and R never waiting for a
history query that hangs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cockpit.clock import FakeClock
from cockpit.engine import SYSTEM
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.journal import read_journal
from cockpit.session import Session
from cockpit.sparkline import BARS
from cockpit.ui import render
from cockpit.ui.app import make_app
from cockpit.ui.widgets.metrics import MetricRow
from tests.support.pilot import HEALTHY, Crew, running
from tests.support.ui import FAST_PROFILE, WALL, text_of, wait_until

pytestmark = pytest.mark.usefixtures("utc_timezone")

PROMETHEUS_ERROR_RATE = """
[metrics.source]
kind = "prometheus"
url = "${var:COCKPIT_TEST_PROMETHEUS}"
query = "sum(rate(errors[10s]))"
"""


def profile_with_prometheus(tmp_path: Path) -> Path:
    """The fast profile, its error rate read from a Prometheus (which the test provides)."""
    text = FAST_PROFILE.read_text(encoding="utf-8")
    http = '[metrics.source]\nkind = "http"\nurl = "http://127.0.0.1:9/stats"\n'
    http += 'json_path = "window.error_rate_pct"\n'
    assert http in text
    text = text.replace(http, PROMETHEUS_ERROR_RATE.lstrip(), 1)
    text += '\n[history]\nwindow = "10m"\ntimeout = "10s"\n'
    path = tmp_path / "fast-prometheus.toml"
    path.write_text(text, encoding="utf-8")
    return path


def crew_for(tmp_path: Path, prometheus: str, *, kind: str = "deploy") -> Crew:
    workdir = tmp_path / "ui"
    workdir.mkdir(exist_ok=True)
    clock = FakeClock(WALL)
    session = Session.create(
        profile_with_prometheus(tmp_path),
        sessions_dir=tmp_path / "sessions",
        environ={"COCKPIT_UI_DIR": str(workdir), "COCKPIT_TEST_PROMETHEUS": prometheus},
        clock=clock,
        kind=kind,
    )
    return Crew(session, clock, make_app(session, clock=clock, run_loops=False), workdir)


@pytest.fixture
async def hanging_prometheus() -> AsyncIterator[str]:
    """A server that takes the request and never answers: the slowest Prometheus there is."""
    held: list[asyncio.StreamWriter] = []

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


def row_text(crew: Crew, metric_id: str) -> str:
    row = next(r for r in crew.app.screen.query(MetricRow) if r.metric_id == metric_id)
    return str(row.render())


def past(crew: Crew, values: list[float]) -> None:
    """Record a history of one value a minute up to now, as the history loop would."""
    now = crew.clock.wall()
    points = tuple((now - 60.0 * (len(values) - n), v) for n, v in enumerate(values))
    crew.session.submit(
        i.RecordHistory(SYSTEM, now, "error-rate", now - 600, now, 60.0, tuple(points))
    )


async def test_history_is_drawn_apart_from_the_live_samples(tmp_path: Path) -> None:
    crew = crew_for(tmp_path, "http://127.0.0.1:9")
    async with running(crew) as pilot:
        past(crew, [0.1, 0.1, 0.2, 0.1, 0.1, 6.0, 8.0, 7.5, 8.1, 8.0])
        crew.feed(HEALTHY, count=2)
        await wait_until(
            pilot, lambda: render.HISTORY_SEPARATOR in row_text(crew, "error-rate"), ""
        )
        row = row_text(crew, "error-rate")
        history, live = row.split(render.HISTORY_SEPARATOR)
        assert BARS[-1] in history  # the RED stretch before the cockpit opened
        assert live.startswith(BARS[0] * 2)  # two live samples, on the same scale
        # An http metric has no history: in an incident the line under the rows says so.
        assert text_of(crew.app, "#history-note") == ""


async def test_a_history_failure_is_said_on_the_row_and_recorded(tmp_path: Path) -> None:
    crew = crew_for(tmp_path, "http://127.0.0.1:9")  # nothing listens on port 9
    async with running(crew) as pilot:
        await crew.session.run_history()
        await pilot.pause(1.1)  # the rows redraw every second
        said = text_of(crew.app, "#history-note")
        assert said.startswith("✘ no history for HTTP 5xx rate: Prometheus at http://127.0.0.1:9:")
        crew.session.flush()
        histories = [
            r.body for r in read_journal(crew.session.journal_path) if r.kind == Kind.METRIC_HISTORY
        ]
        by_metric = {b["metric"]: b for b in histories}
        assert "cannot connect" in by_metric["error-rate"]["error"]
        assert by_metric["p99"]["error"] == "no history (http source)"


async def test_r_never_waits_for_a_history_query(tmp_path: Path, hanging_prometheus: str) -> None:
    crew = crew_for(tmp_path, hanging_prometheus, kind="incident")
    async with running(crew) as pilot:
        reading = asyncio.create_task(crew.session.run_history())
        await asyncio.sleep(0.2)  # the query is sent and hangs
        assert not reading.done()
        await pilot.press("R")
        rollback = crew.session.state.rollback
        assert rollback is not None and rollback.commands[0].pid is not None
        assert not reading.done()  # still waiting for Prometheus: R did not
        assert "no history (not Prometheus): p99 latency" in text_of(crew.app, "#history-note")
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
