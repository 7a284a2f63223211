"""The first frame from the cache, in a real terminal (tmux): ``cockpit run`` keeps the frame
Textual drew, shows it on the next start before Textual runs, and Textual then draws exactly
those bytes again. A changed profile or terminal misses; a refusal after the cached frame
leaves the alternate screen and says why, exit 2."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cockpit import first_frame
from tests.e2e.test_demo_tmux import COCKPIT, REPO
from tests.support.tmux import TmuxPane

pytestmark = pytest.mark.e2e

PROFILE = """\
version = 1

[deployment]
name = "frame-e2e"
service = "frame-${var:E2E_FRAME_SERVICE}"
environments = ["staging"]
owner = "tests"
artifact = { name = "frame", tag = "v2" }

[briefing]
aim = "Show the first frame from the cache."
intent = "Nothing runs; the crew reads the briefing and quits."
mishaps = ["the frame is stale", "the frame is hostile"]

[briefing.contingency]
triggers = ["rate at or above 2"]
trigger_time = "5m"
alternate = "none"

[roles]
operator = "ada"
monitor = "grace"

[[checks]]
id = "ready"
title = "Ready"
[checks.source]
kind = "command"
command = ["true"]

[[metrics]]
id = "rate"
title = "Rate"
threshold = { below = 2 }
interval = "1s"
staleness = "5s"
[metrics.source]
kind = "command"
command = ["echo", "0.5"]
value_regex = "([0-9.]+)"

[[stages]]
name = "staging"
environment = "staging"

[[stages.steps]]
id = "step"
title = "A step"
command = ["true"]
timeout = "30s"
stop_point = ["rate"]

[rollback]
commands = [["true"]]
timeout = "30s"

[rollback.verify]
metrics = ["rate"]
within = "30s"

[health]
duration = "30s"
metrics = ["rate"]
"""

_CLOCK_GLYPHS = set("━┓┏╸╺╻┃┗┛┣┫╹")


def _clock_shown(screen: str) -> bool:
    """The big clock is drawn just after Textual's first frame (TopBar.start_clock)."""
    lines = screen.splitlines()
    return len(lines) > 2 and any(c in _CLOCK_GLYPHS for c in lines[1][80:118])


class Runs:
    def __init__(self, tmp_path: Path) -> None:
        self.profile = tmp_path / "frame.toml"
        self.profile.write_text(PROFILE)
        self.sessions = tmp_path / "sessions"
        self.env = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "E2E_FRAME_SERVICE": "web"}
        self.cache = tmp_path / "xdg" / "cockpit" / "first-frame"

    @contextmanager
    def open(self, width: int = 120, height: int = 40) -> Iterator[TmuxPane]:
        """A cockpit up to Textual's first frame (its clock shown), quit at the end."""
        with TmuxPane(width, height, name="cockpit-e2e-frame") as pane:
            self.start(pane)
            pane.wait_until(_clock_shown, timeout=40, what="the clock")
            yield pane
            pane.keys("q")
            assert pane.wait_exit(timeout=30) == 0, pane.screen(history=True)

    def start(self, pane: TmuxPane) -> None:
        argv = [str(COCKPIT), "run", str(self.profile), "--sessions-dir", str(self.sessions)]
        pane.start(argv, env=self.env, cwd=REPO)

    def once(self, width: int = 120, height: int = 40) -> None:
        with self.open(width, height):
            pass

    def entries(self) -> dict[str, first_frame.Entry | None]:
        if not self.cache.exists():
            return {}
        return {p.name: first_frame.read_entry(self.cache, p.name) for p in self.cache.iterdir()}


@pytest.fixture
def runs(tmux_ready: None, tmp_path: Path) -> Runs:
    return Runs(tmp_path)


def test_textual_draws_the_cached_frame_byte_for_byte(runs: Runs) -> None:
    runs.once()
    [(key, entry)] = runs.entries().items()
    assert entry is not None and not entry.confirmed  # drawn once: never shown yet
    assert "BRIEFING" in entry.frame and "frame-e2e" in entry.frame

    runs.once()
    assert runs.entries() == {key: first_frame.Entry(entry.frame, confirmed=True)}

    # The third start shows the cached frame, and Textual draws its own: had a single byte
    # differed, the entry would now hold Textual's frame, unconfirmed.
    path = runs.cache / key
    os.utime(path, (0, 0))
    runs.once()
    assert runs.entries() == {key: first_frame.Entry(entry.frame, confirmed=True)}
    assert path.stat().st_mtime > 0  # compared on this start, found equal

    # What the frame is drawn from changed: each is another key, never the cached frame.
    runs.env["E2E_FRAME_SERVICE"] = "api"
    runs.once()
    runs.profile.write_text(PROFILE.replace("frame-e2e", "frame-e2e-2"))
    runs.once()
    runs.once(width=130)
    assert len(runs.entries()) == 4  # three misses, each kept under its own key, unconfirmed
    assert all(e is not None and not e.confirmed for k, e in runs.entries().items() if k != key)
    assert "frame-e2e-2" in str(runs.entries())


def test_a_refusal_after_the_cached_frame_leaves_the_screen_and_says_why(runs: Runs) -> None:
    runs.once()
    runs.once()
    [entry] = runs.entries().values()
    assert entry is not None and entry.confirmed
    # The first holds the deploy lock of frame-web in staging; the second has the same key:
    # the cached frame shows, then the lock refuses.
    with runs.open(), TmuxPane(120, 40, name="cockpit-e2e-frame-2") as second:
        runs.start(second)
        assert second.wait_exit(timeout=40) == 2
        screen = second.screen(history=True)
    assert "refused" in screen, screen
    assert "BRIEFING" not in screen, screen  # the alternate screen was left
    assert "Traceback" not in screen
