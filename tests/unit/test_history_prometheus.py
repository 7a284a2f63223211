"""Metric history against a real Prometheus scraping the real demo service.

One incident is played for the whole module (v1 under traffic, then v2 switched in outside
the cockpit until the error rate is RED); each test reads what Prometheus kept of it, or
what it answers to queries that go wrong: Prometheus down, an empty matrix, NaN values, too
many points, and an answer so slow that the deadline ends it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.clock import SystemClock
from cockpit.engine import State, apply, decide
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.probes.base import HttpClients, ProbeContext
from cockpit.probes.history import MetricHistory, fetch_history, query_range
from cockpit.profile.models import Metric, PrometheusSource, Threshold
from cockpit.session import Session
from cockpit.sparkline import BARS
from cockpit.ui import render
from tests.support.incident import INCIDENT_PROFILE, RealIncident, real_incident

pytestmark = pytest.mark.prometheus


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealIncident]:
    with real_incident(tmp_path_factory.mktemp("incident") / "demo") as played:
        played.wait_for_v1_history()
        played.switch_to_v2()
        yield played


def metric(query: str, url: str) -> Metric:
    return Metric(
        id="m",
        title="M",
        source=PrometheusSource(kind="prometheus", url=url, query=query),
        threshold=Threshold(below=2),
    )


def history_of(incident: RealIncident, metric: Metric, seconds: float = 60.0) -> MetricHistory:
    end = SystemClock().wall()
    return asyncio.run(
        fetch_history(
            metric, start=end - seconds, end=end, step=1.0, timeout=5.0, clock=SystemClock()
        )
    )


def test_a_range_query_fills_the_sparkline(incident: RealIncident) -> None:
    profile = incident.profile()
    error_rate = profile.metric("error-rate")
    history = history_of(incident, error_rate)
    assert history.error is None
    values = [v for _, v in history.points if v is not None]
    assert len(values) >= 10
    assert min(values) < 0.5 and max(values) >= 2  # v1's quiet, then v2's RED
    # Recorded, folded, drawn: the history takes the sparkline, apart from live samples.
    state = State()
    start = i.StartSession(SYSTEM, history.end, profile.model_dump(mode="json"), "", "", "a", "b")
    for event in decide(state, start):
        apply(state, event)
    record = i.RecordHistory(
        SYSTEM, history.end, "error-rate", history.start, history.end, history.step, history.points
    )
    for event in decide(state, record):
        apply(state, event)
    spark = render.history_spark(error_rate, state, 30)
    assert len(spark.plain) == 30
    past, live = spark.plain.split(render.HISTORY_SEPARATOR)
    assert len(past) == 29 and live.strip() == ""  # no live sample yet: all of it history
    # Before Prometheus started: gaps; then v1 quiet at the bottom; then v2's spike.
    assert past.strip()[0] == BARS[0] and BARS[-1] in past
    assert any(span.style == render.HISTORY_STYLE for span in spark.spans)


def test_prometheus_down_is_a_reason_not_a_history(incident: RealIncident) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    history = history_of(incident, metric("up", f"http://127.0.0.1:{port}"))
    assert history.points == ()
    assert history.error is not None and "cannot connect" in history.error


def test_an_empty_matrix_is_no_data(incident: RealIncident) -> None:
    history = history_of(
        incident, metric('demo_http_requests_total{code="999"}', incident.prometheus.url)
    )
    assert history.points == ()
    assert history.error == "no data in the window"


def test_nan_values_are_gaps_and_only_nan_is_no_number(incident: RealIncident) -> None:
    url = incident.prometheus.url
    # One second in two, x / x is 0 / 0 (NaN); the other it is 1.
    odd = "(floor(vector(time())) % 2)"
    gaps = history_of(incident, metric(f"{odd} / {odd}", url), 10)
    assert gaps.error is None
    values = [v for _, v in gaps.points]
    assert None in values and 1.0 in values
    assert set(values) == {None, 1.0}
    nan = history_of(incident, metric("vector(0/0)", url), 10)
    assert nan.points == ()
    assert nan.error is not None
    assert nan.error.startswith("no number in the window: all ")


def test_too_many_points_is_prometheus_refusing_in_its_words(incident: RealIncident) -> None:
    source = PrometheusSource(kind="prometheus", url=incident.prometheus.url, query="up")
    end = SystemClock().wall()

    async def ask() -> tuple[object, str | None]:
        ctx = ProbeContext(id="m", threshold=None, unit="", timeout=5, clock=SystemClock())
        try:
            return await query_range(source, start=end - 60, end=end, step=0.001, ctx=ctx)
        finally:
            await ctx.http.aclose()

    points, error = asyncio.run(ask())
    assert points == []
    assert error is not None
    assert "exceeded maximum resolution of 11,000 points" in error


def test_a_slow_answer_ends_at_the_deadline(incident: RealIncident) -> None:
    async def slow_prometheus() -> MetricHistory:
        accepted: list[asyncio.StreamWriter] = []

        async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.append(writer)  # reads the request, never answers

        server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        end = SystemClock().wall()
        clients = HttpClients()
        try:
            return await fetch_history(
                metric("up", f"http://127.0.0.1:{port}"),
                start=end - 60,
                end=end,
                step=1.0,
                timeout=0.5,
                clock=SystemClock(),
                clients=clients,
            )
        finally:
            await clients.aclose()
            for writer in accepted:
                writer.close()
            server.close()
            await server.wait_closed()

    history = asyncio.run(slow_prometheus())
    assert history.points == ()
    assert history.error == "no answer within the 0.5s deadline"


def test_other_sources_have_no_history(incident: RealIncident) -> None:
    ready = incident.profile().metric("ready")  # an http probe of /readyz
    history = history_of(incident, ready)
    assert history.error == "no history (http source)"


def test_a_secret_in_the_answer_is_redacted(incident: RealIncident, tmp_path: Path) -> None:
    source = PrometheusSource(
        kind="prometheus", url=incident.prometheus.url, query="sum(rate(x[1m]) hunter2-secret"
    )
    end = SystemClock().wall()
    history = asyncio.run(
        fetch_history(
            Metric(id="m", title="M", source=source, threshold=Threshold(below=1)),
            start=end - 60,
            end=end,
            step=1,
            timeout=5,
            clock=SystemClock(),
            secrets=["hunter2"],
        )
    )
    assert history.error is not None and "parse error" in history.error
    assert "hunter2" not in history.error


def test_the_red_stretch_is_found_when_v2_went_out_and_the_baseline_before_it(
    incident: RealIncident, tmp_path: Path
) -> None:
    """An incident session reads the history when it opens and takes the baseline from it."""
    session = Session.create(
        INCIDENT_PROFILE,
        sessions_dir=tmp_path / "sessions",
        environ=incident.env(),
        kind="incident",
    )

    async def open_and_read() -> None:
        try:
            await session.run_history()
        finally:
            await session.close()

    asyncio.run(open_and_read())
    state = session.state
    assert state.incident is not None and state.incident.baseline is not None
    taken = state.incident.baseline
    assert taken["source"] == "red-stretch"
    red = taken["red"]
    assert red["metric"] in ("error-rate", "p99")
    # RED began after v2 went out and no later than Prometheus first answered it RED.
    assert incident.switched - 1.0 <= red["start"] <= incident.red + 1.0, (
        red["start"] - incident.switched,
        incident.red - incident.switched,
    )
    metrics = taken["metrics"]
    assert metrics["error-rate"]["how"] == "history"
    assert metrics["error-rate"]["value"] < 0.5  # v1 answers no 500s
    assert metrics["p99"]["how"] == "history"
    assert metrics["p99"]["value"] < 100  # v1 answers in 5-20 ms
    assert metrics["ready"]["why"] == "verified against the threshold (no history)"
    assert state.baseline == {
        "error-rate": metrics["error-rate"]["value"],
        "p99": metrics["p99"]["value"],
    }


def test_the_crews_baseline_time_wins_and_older_than_the_data_is_the_threshold(
    incident: RealIncident, tmp_path: Path
) -> None:
    def baseline(at: float, name: str) -> dict[str, object]:
        session = Session.create(
            INCIDENT_PROFILE,
            sessions_dir=tmp_path / name,
            environ=incident.env(),
            kind="incident",
            baseline_at=at,
        )

        async def open_and_read() -> None:
            try:
                await session.run_history()
            finally:
                await session.close()

        asyncio.run(open_and_read())
        assert session.state.incident is not None and session.state.incident.baseline
        return session.state.incident.baseline

    before_v2 = baseline(incident.switched - 1, "before")
    assert before_v2["source"] == "baseline-at"
    metrics = before_v2["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["error-rate"]["how"] == "history"
    assert metrics["error-rate"]["value"] < 0.5
    # An hour before: read on its own (the history reaches 3 minutes back), and Prometheus,
    # started for this test, has nothing then.
    long_ago = baseline(incident.switched - 3600, "long-ago")
    metrics = long_ago["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["error-rate"]["how"] == "threshold"
    assert metrics["error-rate"]["why"] == (
        "verified against the threshold (no history in the 10 s before the incident)"
    )
