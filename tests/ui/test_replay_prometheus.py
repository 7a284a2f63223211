"""A replay's Prometheus history, on the real replay screen.

A real Prometheus scrapes a real local endpoint (a gauge that counts its scrapes); the
journal is written by the real session on a fake clock set inside what Prometheus holds; the
replay reads ``query_range`` over the session and draws it up to the replayed moment, never
after. Prometheus down, outside its retention, and hostile answers (from a real local HTTP
server playing Prometheus) each leave one line and the journal alone. No test sleeps: each
waits on a condition with a deadline.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from cockpit.clock import FakeClock
from cockpit.journal import read_journal
from cockpit.replay import ReplaySession, fold
from cockpit.replay_history import Status
from cockpit.ui.replay import ReplayApp, make_replay_app
from cockpit.ui.widgets.metrics import MetricRow
from tests.support.prometheus import PrometheusServer, ensure_prometheus
from tests.support.replay_prometheus import (
    GAUGE,
    Asked,
    Endpoint,
    endpoint,
    matrix,
    profile_with_prometheus,
    range_answer,
    write_journal,
)
from tests.support.ui import text_of, wait_until

pytestmark = pytest.mark.usefixtures("utc_timezone")

RATES = [0.5, 0.6, 3.0, 0.4]
"""The error rates the journals' sessions sampled, one a second."""


def _row(app: ReplayApp, metric_id: str = "error-rate") -> str:
    row = next(r for r in app.screen.query(MetricRow) if r.metric_id == metric_id)
    return str(row.render())


async def _history_read(pilot: Pilot[None], session: ReplaySession) -> None:
    await wait_until(
        pilot,
        lambda: session.history.status is not Status.READING,
        "the Prometheus history to be read",
        timeout=30.0,
    )
    await pilot.pause()  # the redraw after the worker's end


# ---------------------------------------------------------------- a real Prometheus


@pytest.fixture(scope="module")
def scraped() -> Iterator[tuple[Endpoint, PrometheusServer]]:
    """A real Prometheus that has scraped the endpoint at least eight times."""
    binary = ensure_prometheus()
    with endpoint() as target:
        server = PrometheusServer([target.url], binary=binary)
        try:
            server.start()
            server.wait_for_value(
                f"count_over_time({GAUGE}[5m])", accept=lambda n: n >= 8, timeout=60
            )
            yield target, server
        finally:
            server.stop()


@pytest.mark.prometheus
async def test_the_replay_draws_the_real_prometheus_history_up_to_the_replayed_moment(
    scraped: tuple[Endpoint, PrometheusServer], tmp_path: Path
) -> None:
    target, prometheus = scraped
    # The session's records lie inside what Prometheus holds: it scraped for 8 s and more.
    start = time.time() - 6
    profile = profile_with_prometheus(tmp_path, prometheus.url, window="20s")
    journal = await write_journal(tmp_path, profile, start, RATES)
    records = read_journal(journal)
    session = ReplaySession.open(journal)
    assert session.history.status is Status.READING
    app = make_replay_app(session, real_clock=FakeClock())
    replayer = session.replayer
    async with app.run_test(size=(120, 40)) as pilot:
        await _history_read(pilot, session)
        history = session.history
        assert history.status is Status.READ, history
        assert (history.start, history.end) == (records[0].wall - 20, records[-1].wall)
        read = history.metrics["error-rate"]
        values = [v for _, v in read.points if v is not None]
        # The gauge counts the scrapes: what was read is that endpoint's, in time order.
        assert values and values == sorted(values) and max(values) <= target.scrapes
        assert all(float(v).is_integer() for v in values)

        seen: list[int] = []
        for n in range(1, replayer.last + 1):
            if n > 1:
                await pilot.press("right")
            assert replayer.position == n
            past = history.past_at("error-rate", replayer.wall)
            assert past is not None
            # Never the future of the replayed moment.
            assert past.end == replayer.wall
            assert all(t <= replayer.wall for t, _ in past.points)
            seen.append(len(past.points))
            # The journal's state is the fold of its records: the history is beside it.
            assert session.state == fold(records[:n])
        assert seen == sorted(seen) and seen[-1] > seen[0]

        await pilot.pause()
        row = _row(app)
        assert "│" in row and "0.4 %" in row  # history │ the journal's samples, and the value
        note = text_of(app, "#history-note")
        assert "left of │: Prometheus history" in note
        assert "│" not in _row(app, "p99")  # an http metric: the journal's samples alone


@pytest.mark.prometheus
async def test_a_session_outside_the_retention_says_so_and_replays_the_journal(
    scraped: tuple[Endpoint, PrometheusServer], tmp_path: Path
) -> None:
    _, prometheus = scraped
    month_ago = time.time() - 30 * 86400  # long before this Prometheus held anything
    profile = profile_with_prometheus(tmp_path, prometheus.url, window="20s")
    session = ReplaySession.open(await write_journal(tmp_path, profile, month_ago, RATES))
    app = make_replay_app(session, real_clock=FakeClock())
    async with app.run_test(size=(120, 40)) as pilot:
        await _history_read(pilot, session)
        assert session.history.status is Status.OUTSIDE_RETENTION
        note = text_of(app, "#history-note")
        assert note.startswith("Prometheus history: outside retention (no data from ")
        assert note.endswith("— journal only")
        await pilot.press("right", "right", "right", "right")
        assert "0.4 %" in _row(app)


# ---------------------------------------------------------------- no Prometheus


async def test_prometheus_down_says_journal_only_and_the_replay_goes_on(tmp_path: Path) -> None:
    gone = Endpoint()
    url = gone.url
    gone.stop()  # nothing listens there now
    profile = profile_with_prometheus(tmp_path, url)
    session = ReplaySession.open(await write_journal(tmp_path, profile, time.time() - 60, RATES))
    app = make_replay_app(session, real_clock=FakeClock())
    async with app.run_test(size=(80, 24)) as pilot:
        await _history_read(pilot, session)
        assert session.history.status is Status.UNREACHABLE
        note = text_of(app, "#history-note")
        assert note.startswith("✘ Prometheus history: unreachable (at http://127.0.0.1:")
        assert note.endswith("— journal only") and len(note) <= 80  # one line
        await pilot.press("right", "right", "right", "right")
        assert "0.4 %" in _row(app) and "│" not in _row(app)


async def test_no_prometheus_reads_nothing(tmp_path: Path) -> None:
    with endpoint() as fake:
        fake.answer = range_answer(lambda t: "1")
        profile = profile_with_prometheus(tmp_path, fake.url)
        journal = await write_journal(tmp_path, profile, time.time() - 60, RATES)
        session = ReplaySession.open(journal, prometheus=False)
        app = make_replay_app(session, real_clock=FakeClock())
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert session.history.status is Status.OFF
            assert fake.asked == []
            assert "Prometheus" not in text_of(app, "#history-note")


async def test_the_replay_works_while_the_history_is_on_its_way(tmp_path: Path) -> None:
    release = threading.Event()

    def held(asked: Asked) -> tuple[int, bytes]:
        release.wait(30)
        return range_answer(lambda t: "1.5")(asked)

    with endpoint() as fake:
        fake.answer = held
        profile = profile_with_prometheus(tmp_path, fake.url)
        session = ReplaySession.open(
            await write_journal(tmp_path, profile, time.time() - 60, RATES)
        )
        app = make_replay_app(session, real_clock=FakeClock())
        try:
            async with app.run_test(size=(120, 40)) as pilot:
                await wait_until(pilot, lambda: bool(fake.asked), "the range query")
                assert text_of(app, "#history-note").startswith("Prometheus history: reading")
                await pilot.press("right", "right")
                assert session.replayer.position == 3  # the keys do not wait for Prometheus
                release.set()
                await _history_read(pilot, session)
                assert session.history.status is Status.READ
                assert "│" in _row(app)
        finally:
            release.set()


# ---------------------------------------------------------------- hostile answers


CONTROLS = "\x1b[2J\x1b]52;c;cHduZWQ=\x07 \u202e gone"
"""An error text that would clear the screen, write the clipboard and reverse the text."""
HUGE = matrix([(1e9 + n, "1") for n in range(120_000)])
"""A range answer of more than the 1 MB a probe reads."""


def _nan_inf_and_labels(asked: Asked) -> tuple[int, bytes]:
    start, end = float(asked.query["start"]), float(asked.query["end"])
    values = ["NaN", "+Inf", "-Inf", "2.5"]
    points = [(start + k, values[k % 4]) for k in range(int(end - start))]
    return 200, matrix(points, labels={"job": "\x1b[31mred\x1b]0;title\x07", "\x9b": "\u202e"})


@pytest.mark.parametrize(
    ("answer", "status", "shown"),
    [
        (lambda a: (200, HUGE), Status.ERROR, "error (body larger than 1000000 bytes)"),
        (
            lambda a: (400, json.dumps({"status": "error", "error": CONTROLS}).encode()),
            Status.ERROR,
            "^[[2J^[]52;c;cHduZWQ=^G \\u202e gone",
        ),
        (
            lambda a: (200, matrix([(float(a.query["start"]) + 1, "\x1b[2J")])),
            Status.ERROR,
            "is not a number",
        ),
        (
            lambda a: (200, matrix([(float(a.query["start"]) + 1, "NaN")])),
            Status.ERROR,
            "no number in the window: all 1 values are NaN or infinite",
        ),
        (lambda a: (200, b"\x00\xff<html>not json"), Status.ERROR, "non-JSON"),
        (
            lambda a: (200, b'{"status":"success","data":{"resultType":"matrix","result":[]}}'),
            Status.OUTSIDE_RETENTION,
            "no data from",
        ),
        (_nan_inf_and_labels, Status.READ, "left of │: Prometheus history"),
    ],
    ids=[
        "huge",
        "control-bytes-in-error",
        "control-bytes-in-value",
        "all-nan",
        "not-json",
        "empty",
        "nan-inf-labels",
    ],
)
async def test_a_hostile_answer_is_one_inert_line_or_gaps(
    tmp_path: Path, answer: object, status: Status, shown: str
) -> None:
    with endpoint() as fake:
        fake.answer = answer  # type: ignore[assignment]
        profile = profile_with_prometheus(tmp_path, fake.url)
        session = ReplaySession.open(
            await write_journal(tmp_path, profile, time.time() - 60, RATES)
        )
        app = make_replay_app(session, real_clock=FakeClock())
        async with app.run_test(size=(200, 50)) as pilot:
            await _history_read(pilot, session)
            assert session.history.status is status, session.history
            note = text_of(app, "#history-note")
            assert shown in note
            for text in (note, _row(app)):
                assert not any(c in text for c in "\x1b\x07\x9b\u202e\x00")
            if status is Status.READ:
                points = session.history.metrics["error-rate"].points
                assert {v for _, v in points} == {None, 2.5}  # NaN and ±Inf are gaps
            else:
                assert note.endswith("— journal only")
            await pilot.press("right", "right", "right", "right")
            assert "0.4 %" in _row(app)  # the journal replays all the same


async def test_a_secret_echoed_by_prometheus_never_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "s3cr3t-replay-token-4711"

    def echo(asked: Asked) -> tuple[int, bytes]:
        said = asked.headers.get("authorization", "none")
        return 401, f'{{"status":"error","errorType":"unauthorized","error":"bad {said}"}}'.encode()

    with endpoint() as fake:
        fake.answer = echo
        profile = profile_with_prometheus(
            tmp_path, fake.url, headers='{ Authorization = "Bearer ${env:REPLAY_PROM_TOKEN}" }'
        )
        journal = await write_journal(
            tmp_path, profile, time.time() - 60, RATES, environ={"REPLAY_PROM_TOKEN": token}
        )
        assert token not in journal.read_text()
        monkeypatch.setenv("REPLAY_PROM_TOKEN", token)
        session = ReplaySession.open(journal)
        app = make_replay_app(session, real_clock=FakeClock())
        async with app.run_test(size=(200, 50)) as pilot:
            await _history_read(pilot, session)
            assert fake.asked[0].headers["authorization"] == f"Bearer {token}"
            assert session.history.status is Status.ERROR
            note = text_of(app, "#history-note")
            assert "unauthorized" in note and token not in note
            assert token not in repr(session.history)


async def test_a_variable_the_terminal_lacks_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    with endpoint() as fake:
        fake.answer = range_answer(lambda t: "1")
        profile = profile_with_prometheus(
            tmp_path, fake.url, headers='{ Authorization = "Bearer ${env:REPLAY_PROM_UNSET}" }'
        )
        journal = await write_journal(
            tmp_path, profile, time.time() - 60, RATES, environ={"REPLAY_PROM_UNSET": "x"}
        )
        session = ReplaySession.open(journal)
        app = make_replay_app(session, real_clock=FakeClock())
        async with app.run_test(size=(200, 50)) as pilot:
            await _history_read(pilot, session)
            assert fake.asked == []
            assert session.history.status is Status.ERROR
            note = text_of(app, "#history-note")
            assert "REPLAY_PROM_UNSET is not set" in note and note.endswith("— journal only")


async def test_a_reader_that_breaks_is_a_line_not_a_dead_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("cockpit.replay.read_history", broken)
    profile = profile_with_prometheus(tmp_path, "http://127.0.0.1:9")
    session = ReplaySession.open(await write_journal(tmp_path, profile, time.time() - 60, RATES))
    app = make_replay_app(session, real_clock=FakeClock())
    async with app.run_test(size=(120, 40)) as pilot:
        await _history_read(pilot, session)
        assert session.history.status is Status.ERROR
        note = text_of(app, "#history-note")
        assert note == "✘ Prometheus history: error (reading failed: RuntimeError) — journal only"
        await pilot.press("right")
        assert session.replayer.position == 2
