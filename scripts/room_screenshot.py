"""Take the room's screen (``cockpit serve``) from the real page into screenshots/.

Runs the demo (service, traffic, the demo profile with capacity checks any host passes) in
a tmux pane, deploys the bad v2, presses R when the stop point goes RED, and photographs the
page in headless Chromium while it says ROLLING BACK NOW; then again at the verdict.

Usage: python scripts/room_screenshot.py   (needs tmux, chromium and chromium-driver)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from tests.support.browser import chromium  # noqa: E402
from tests.support.demo import demo_profile_on_any_host  # noqa: E402
from tests.support.tmux import TmuxPane  # noqa: E402
from ui_common import drive_to_step_started  # noqa: E402

from cockpit.demo.stack import DemoStack  # noqa: E402

OUT = ROOT / "screenshots"
COCKPIT = Path(sys.executable).parent / "cockpit"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ck-") as work:
        base = Path(work)
        runtime = base / "run"
        runtime.mkdir(mode=0o700)
        stack = DemoStack(base / "demo")
        stack.start()
        env = {**stack.env(), "COCKPIT_RUNTIME_DIR": str(runtime), "TZ": "UTC"}
        sessions = base / "sessions"
        profile = demo_profile_on_any_host(base)
        server: subprocess.Popen[str] | None = None
        try:
            with TmuxPane(120, 40, name="room-shot") as pane, chromium() as browser:
                argv = [str(COCKPIT), "run", str(profile), "--sessions-dir", str(sessions)]
                pane.start(argv, env=env)
                drive_to_step_started(pane)
                [journal] = sessions.glob("*.jsonl")
                server = subprocess.Popen(
                    [str(COCKPIT), "serve", str(journal), "--port", "0"],
                    stdout=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    text=True,
                )
                assert server.stdout is not None
                server.stdout.readline()
                browser.open(server.stdout.readline().strip())
                pane.wait_for("ROLLBACK ADVISED", timeout=60)
                pane.keys("R")
                browser.wait_text("banner", lambda t: "ROLLING BACK NOW" in t, timeout=10, what="R")
                browser.screenshot(OUT / "room-rolling-back.png")
                browser.wait_text(
                    "banner", lambda t: "ROLLED BACK" in t, timeout=90, what="the verdict"
                )
                browser.screenshot(OUT / "room-rolled-back.png")
                pane.keys("q")
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
            stack.stop()
    print(f"wrote {OUT / 'room-rolling-back.png'} and {OUT / 'room-rolled-back.png'}")


if __name__ == "__main__":
    main()
