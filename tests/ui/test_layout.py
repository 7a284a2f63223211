"""The screen as a person reads it: a check's detail that does not fit on one line wraps under
the check's title; the Operator's title says where the view is; at 120x40 the metric titles
are whole, the sparklines show 60 samples and more with more width, and commands are whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cockpit.clock import FakeClock
from cockpit.ui.app import make_app
from cockpit.ui.render import CHECK_INDENT
from cockpit.ui.screens.cockpit import CockpitScreen
from cockpit.ui.widgets.metrics import MonitorPane
from tests.support.ui import (
    INCIDENT_SCENES,
    SCENES,
    SHOWCASE_PROFILE,
    WALL,
    IncidentShowcase,
    Showcase,
    clock_shown,
    new_session,
    record_check,
    text_of,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("utc_timezone")

LONG = "exit 0: " + " ".join(f"word{n}" for n in range(40))  # wraps at any width here


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)], ids=str)
async def test_a_long_check_detail_wraps_under_its_title(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    show = Showcase(tmp_path)
    async with show.app.run_test(size=size) as pilot:
        await show.briefing(pilot)
        record_check(show.session, show.clock, "rollback-dry-run", True, LONG)
        await pilot.pause()
        # Scrolled as a person scrolls the Operator pane to read the checks.
        procedure = show.app.screen.query_one("#procedure")
        procedure.scroll_to_widget(
            show.app.screen.query_one("#checklist"), top=True, animate=False, immediate=True
        )
        await pilot.pause()
        screen = [s.text for s in show.app.screen._compositor.render_strips()]
        first = next(n for n, line in enumerate(screen) if "word0" in line)
        last = next(n for n, line in enumerate(screen) if "word39" in line)
        assert last > first  # it wraps
        left = screen[first].index("exit 0:")
        for line in screen[first + 1 : last + 1]:
            # Under the detail's own start (the pane's border and padding come before it).
            assert line[left : left + 4].startswith("word"), line
        title = next(line for line in screen[:first] if "Rollback path validated" in line)
        assert title.index("Rollback path validated") == left
        assert left >= CHECK_INDENT


async def test_the_operators_title_says_where_the_view_is_and_no_colour_hides_the_bar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    show = Showcase(tmp_path)
    async with show.app.run_test(size=(80, 24)) as pilot:
        await show.briefing(pilot)
        await pilot.pause()
        procedure = show.app.screen.query_one("#procedure")
        assert procedure.styles.scrollbar_size_vertical == 0  # a bare thumb says nothing
        assert text_of(show.app, "#operator-title").endswith("▼ more below: PgDn")
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: procedure.scroll_y >= 1, "the first page down")
        await pilot.pause()
        assert text_of(show.app, "#operator-title").endswith("▲▼ more: PgUp/PgDn")
        procedure.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert text_of(show.app, "#operator-title").endswith("▲ more above: PgUp")


async def test_with_colour_the_bar_stays_and_a_view_that_fits_has_no_hint(
    tmp_path: Path,
) -> None:
    show = Showcase(tmp_path)
    async with show.app.run_test(size=(200, 50)) as pilot:
        await show.executing(pilot)  # the steps alone: they fit
        await pilot.pause()
        procedure = show.app.screen.query_one("#procedure")
        assert procedure.styles.scrollbar_size_vertical > 0
        assert procedure.max_scroll_y == 0
        assert "more" not in text_of(show.app, "#operator-title")


BLOCKS = set("▁▂▃▄▅▆▇█")


async def metric_rows_at(tmp_path: Path, size: tuple[int, int]) -> list[str]:
    show = Showcase(tmp_path)
    async with show.app.run_test(size=size) as pilot:
        await show.stop_point_red(pilot)
        for _ in range(70):  # more samples than any sparkline here has cells
            show.feed({"error-rate": 4.6, "p99": 512.0, "ready": 47.0, "throughput": 104.0})
        show.clock.advance(1)
        await wait_until(pilot, lambda: clock_shown(show.app), "the 1 s refresh")
        screen = [s.text for s in show.app.screen._compositor.render_strips()]
        assert "$ deployctl rollout checkout v2.4.0 --weight 100" in "\n".join(screen)
        return [line for line in screen if "ms < " in line or "% < " in line or "req/s >" in line]


async def test_at_120x40_titles_are_whole_and_sparklines_show_60_samples(tmp_path: Path) -> None:
    rows = await metric_rows_at(tmp_path / "a", (120, 40))
    assert any("Readiness probe latency" in row for row in rows)  # 23 characters, whole
    assert len(rows) == 4 and all(sum(c in BLOCKS for c in row) >= 60 for row in rows), rows
    wider = await metric_rows_at(tmp_path / "b", (200, 50))
    assert all(
        sum(c in BLOCKS for c in w) > sum(c in BLOCKS for c in n)
        for w, n in zip(wider, rows, strict=True)
    )


@pytest.mark.parametrize("lines", [0, 1, 4])
async def test_the_monitor_pane_fits_again_when_the_panes_room_changes(
    tmp_path: Path, lines: int
) -> None:
    """A notice that comes or goes changes the panes' height after the Monitor pane was
    fitted: it fits again, as a fresh fit would (the snapshot of this scene once differed
    from run to run by the verification's rule line)."""
    show = Showcase(tmp_path / str(lines))
    async with show.app.run_test(size=(120, 40)) as pilot:
        await show.not_verified(pilot)
        await pilot.pause()
        screen = show.app.screen
        assert isinstance(screen, CockpitScreen)
        screen._notice("\n".join(f"notice line {n}" for n in range(lines)), error=False)
        await pilot.pause()
        await pilot.pause()
        shown = text_of(show.app, "#verification")
        monitor = screen.query_one(MonitorPane)
        monitor.refit()
        await pilot.pause()
        assert text_of(show.app, "#verification") == shown


KEY_LINE = re.compile(r"^(?:[A-Za-z]  \S.*?)(?: {3}[A-Za-z]  \S.*?)*$")
"""A line of the key bar: whole entries only (a key, two spaces, its words), three spaces
between two entries."""


@pytest.mark.parametrize("scene", SCENES + INCIDENT_SCENES)
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=str)
async def test_the_key_bar_never_parts_a_key_from_its_words(
    tmp_path: Path, scene: str, size: tuple[int, int]
) -> None:
    """At 80 columns the briefing's bar once ended a line with ``A`` and began the next with
    ``abort``; a line now breaks only between two keys. And no blank line stands between
    NEXT and the keys while there is no notice (it took a row from the panes)."""
    show = IncidentShowcase(tmp_path) if scene in INCIDENT_SCENES else Showcase(tmp_path)
    async with show.app.run_test(size=size) as pilot:
        await show.player(scene)(pilot)
        await pilot.pause()
        screen = show.app.screen
        keys = screen.query_one("#keys").region
        strips = [s.text for s in screen._compositor.render_strips()]
        lines = [strips[y].strip() for y in range(keys.y, keys.y + keys.height)]
        assert lines and all(KEY_LINE.match(line) for line in lines), lines
        notice = screen.query_one("#notice")
        if not text_of(show.app, "#notice").strip():
            assert notice.region.height == 0
            assert screen.query_one("#next").region.bottom == keys.y


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=str)
async def test_the_record_and_report_paths_break_only_after_a_slash(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    """At 80 columns the report's path once wrapped as ``…/DEPLOYMENT-REPO`` and ``RT.md``:
    a path too long for the line now breaks after a ``/`` and goes on under its start."""
    show = Showcase(tmp_path)
    async with show.app.run_test(size=size) as pilot:
        await show.player("rolled-back")(pilot)
        await pilot.pause()
        screen = show.app.screen
        region = screen.query_one("#notice").region
        strips = [s.text for s in screen._compositor.render_strips()]
        paths: dict[str, list[str]] = {}
        label = ""
        for line in (strips[y] for y in range(region.y, region.bottom)):
            words = line.split()
            if words and words[0] in ("record:", "report:"):
                label, words = words[0], words[1:]
                start = line.index(words[0])
            else:
                assert line[:start].strip() == "", line  # under the path's start
            paths.setdefault(label, []).extend(words)
        assert set(paths) == {"record:", "report:"}
        for parts in paths.values():
            assert all(part.endswith("/") for part in parts[:-1]), parts
        assert "".join(paths["record:"]).endswith(".jsonl")
        assert "".join(paths["report:"]).endswith("/DEPLOYMENT-REPORT.md")


async def test_the_top_bar_names_the_service_as_resolved(tmp_path: Path) -> None:
    """A service named by a reference showed as ``${var:SERVICE_NAME}`` in the top bar while
    the panes showed the profile resolved."""
    profile = tmp_path / "checkout.toml"
    profile.write_text(
        SHOWCASE_PROFILE.read_text().replace(
            'service = "checkout"', 'service = "${var:SERVICE_NAME}"', 1
        )
    )
    session = new_session(profile, tmp_path, FakeClock(WALL), {"SERVICE_NAME": "checkout-eu"})
    app = make_app(session, clock=session.clock, run_loops=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "checkout v2.4 · checkout-eu · team-payments" in text_of(app, "#deployment")
