"""A replay's Prometheus history, without a screen: what it draws up to a moment, and the
one line that says what it is or why there is none."""

from __future__ import annotations

import pytest

from cockpit.probes.history import NO_DATA, MetricHistory
from cockpit.replay_history import SHOWN_POINTS, ReplayHistory, Status, summarise

START, END = 1_800_000_000.0, 1_800_000_100.0


def _read(metric_id: str = "m", points: int = 11) -> MetricHistory:
    return MetricHistory(
        metric_id, START, END, 10.0, tuple((START + 10 * k, float(k)) for k in range(points))
    )


def _failed(metric_id: str, error: str, *, unreachable: bool = False) -> MetricHistory:
    return MetricHistory(metric_id, START, END, 10.0, error=error, unreachable=unreachable)


@pytest.mark.parametrize("wall", [START, START + 5, START + 10, START + 55, END, END + 50])
def test_the_history_shown_at_a_moment_never_holds_a_later_point(wall: float) -> None:
    history = summarise([_read()], START, END)
    past = history.past_at("m", wall)
    assert past is not None
    assert past.end == wall and past.start == START
    assert [t for t, _ in past.points] == [t for t, _ in _read().points if t <= wall]


def test_before_its_first_point_or_without_numbers_the_journal_s_history_shows() -> None:
    history = summarise([_read()], START, END)
    assert history.past_at("m", START - 1) is None
    assert history.past_at("other", END) is None
    gaps = MetricHistory("g", START, END, 10.0, ((START, None), (START + 10, 1.0)))
    assert summarise([gaps], START, END).past_at("g", START + 5) is None


def test_what_the_queries_gave_becomes_one_status() -> None:
    refused = _failed("a", "Prometheus at http://p:9090: connection refused", unreachable=True)
    empty = _failed("b", NO_DATA)
    bad = _failed("c", "Prometheus bad_data (HTTP 400): parse error")
    assert summarise([_read("a"), refused], START, END).status is Status.READ
    assert summarise([empty, empty], START, END).status is Status.OUTSIDE_RETENTION
    assert summarise([refused, empty], START, END).status is Status.UNREACHABLE
    assert summarise([bad, empty], START, END).status is Status.ERROR
    assert summarise([bad, refused], START, END).status is Status.UNREACHABLE


@pytest.mark.parametrize("width", [40, 58, 78, 118, 198])
@pytest.mark.parametrize(
    "history",
    [
        ReplayHistory(Status.READING, START, END),
        summarise([_read()], START, END),
        summarise([_read("a"), _failed("b", "x" * 300)], START, END),
        summarise(
            [_failed("a", "Prometheus at http://p:9090: " + "y" * 300, unreachable=True)],
            START,
            END,
        ),
        summarise([_failed("a", NO_DATA)], START, END),
        summarise([_failed("a", "Prometheus: body larger than 1000000 bytes")], START, END),
    ],
    ids=["reading", "read", "read-partly", "unreachable", "outside-retention", "error"],
)
def test_the_line_fits_its_width_and_says_journal_only_when_it_is(
    history: ReplayHistory, width: int
) -> None:
    line = history.line(width)
    assert line and len(line) <= width and "\n" not in line
    if history.journal_only and history.status is not Status.READING and width >= 58:
        assert line.endswith("— journal only")
        assert f"Prometheus history: {history.status.value}" in line


def test_nothing_to_say_without_prometheus_or_when_not_asked() -> None:
    assert ReplayHistory(Status.OFF).line(200) == ""
    assert ReplayHistory(Status.NONE).line(200) == ""


def test_the_lines_in_full() -> None:
    refused = _failed("a", "Prometheus at http://p:9090: connection refused", unreachable=True)
    assert summarise([refused], START, END).line(200) == (
        "✘ Prometheus history: unreachable (at http://p:9090: connection refused) — journal only"
    )
    assert summarise([_failed("a", NO_DATA)], START, END).line(200) == (
        "Prometheus history: outside retention (no data from 08:00:00 to 08:01:40 UTC)"
        " — journal only"
    )
    assert summarise([_read()], START, END).line(80) == (
        "left of │: Prometheus history up to this moment; right: the journal's samples"
    )


def test_cockpit_replay_can_leave_prometheus_alone() -> None:
    from cockpit.cli import build_parser

    assert build_parser().parse_args(["replay", "j.jsonl"]).prometheus is True
    assert build_parser().parse_args(["replay", "j.jsonl", "--no-prometheus"]).prometheus is False


def test_many_points_are_drawn_as_means_of_their_share_never_of_later_ones() -> None:
    many = MetricHistory(
        "m", START, END, 0.01, tuple((START + k * 0.01, START + k * 0.01) for k in range(10_001))
    )
    history = summarise([many], START, END)
    wall = START + 61.234
    past = history.past_at("m", wall)
    assert past is not None and len(past.points) == SHOWN_POINTS
    numbers = [v for _, v in past.points if v is not None]
    assert all(t <= wall for t, _ in past.points) and max(numbers) <= wall
    # Each value is the mean of the points in its share: here their times, so the middle.
    share = (wall - START) / SHOWN_POINTS
    for t, v in past.points[:-1]:
        assert v is not None and t <= v <= t + share
