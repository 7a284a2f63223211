"""The room's screen in a real browser: ``cockpit serve`` seen by headless Chromium shows the
same T+ as the cockpit in its tmux (within a second), and ROLLING BACK NOW once R is
pressed in the cockpit; without its token the page shows nothing.

Cost: about 15 s (Chromium's start is most of it).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tomli_w

from tests.support.browser import Browser, chromium
from tests.support.digits import t_plus_shown
from tests.support.tmux import TmuxPane

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COCKPIT = Path(sys.executable).parent / "cockpit"
QUICK = ROOT / "tests" / "data" / "session" / "quick.toml"


def quick_profile(directory: Path) -> Path:
    """quick.toml whose metric a local command answers: GO within seconds."""
    data = tomllib.loads(QUICK.read_text())
    data["metrics"][0]["source"] = {
        "kind": "command",
        "command": ["/bin/echo", "0.1"],
        "value_regex": r"([0-9.]+)",
    }
    path = directory / "room.toml"
    path.write_text(tomli_w.dumps(data))
    return path


@pytest.fixture
def browser(tmux_ready: None) -> Iterator[Browser]:
    with chromium() as opened:
        yield opened


def clock_seconds(text: str) -> float:
    minutes, seconds = text.lstrip("+").split(":")
    return int(minutes) * 60 + int(seconds)


def test_the_page_shows_the_cockpits_timer_and_the_rollback(
    browser: Browser, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {"COCKPIT_RUNTIME_DIR": str(runtime), "TZ": "UTC"}
    with TmuxPane(120, 40, name="room-cockpit") as pane:
        pane.start(
            [str(COCKPIT), "run", str(quick_profile(tmp_path)), "--sessions-dir", str(sessions)],
            env=env,
        )
        pane.wait_for("BRIEFING", timeout=30)
        pane.read_back()
        pane.wait_for("CHECKLIST", timeout=60)
        pane.keys("c")
        pane.wait_for("Operator, give your GO", timeout=60)
        pane.keys("g")
        pane.wait_for("Monitor, give your GO", timeout=15)
        pane.keys("m")
        pane.wait_for("EXECUTING", timeout=15)
        [journal] = sessions.glob("*.jsonl")
        server = subprocess.Popen(
            [str(COCKPIT), "serve", str(journal), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()
            url = server.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and "?token=" in url, url
            # Without the token: nothing.
            bare = url.split("?", 1)[0]
            assert httpx.get(bare).status_code == 403
            assert httpx.get(bare + "events?token=wrong").status_code == 403

            browser.open(url)
            browser.wait_text("clock", lambda t: t.startswith("+"), timeout=15, what="T+")
            for _ in range(3):
                shown = clock_seconds(browser.text("clock"))
                screen = pane.screen()
                cockpit = t_plus_shown(screen, [shown - 2, shown - 1, shown, shown + 1, shown + 2])
                assert cockpit is not None, f"page +{shown}s, cockpit:\n{screen}"
                assert abs(cockpit - shown) <= 1, (cockpit, shown)
            assert browser.text("phase").startswith("EXECUTING")
            assert "Error rate" in browser.text("metrics")
            # Nothing on the page can act: no form, no input, no link, no button.
            assert (
                browser.run(
                    "return document.querySelectorAll('form, input, button, a, textarea').length"
                )
                == 0
            )

            pane.keys("v")
            pane.wait_for("run step 1", timeout=15)
            pane.keys("x")
            pane.wait_for("stop point", timeout=30)
            pane.keys("R")
            pane.wait_for("ROLLING BACK NOW", timeout=15)
            browser.wait_text(
                "banner", lambda t: "ROLLING BACK NOW" in t, timeout=5, what="the rollback"
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
