"""A step that prints terminal commands, in a real terminal (tmux): the cockpit shows them as
text. The pane keeps its title, the banner, the NEXT line and the key bar stay on the screen
through the rollback, and a secret split by an escape never shows. ``cockpit run`` also
starts when the secret holds ``${...}``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.journal import read_journal
from tests.e2e.test_demo_tmux import COCKPIT, REPO
from tests.support.tmux import TmuxPane

pytestmark = pytest.mark.e2e

# Clear the screen and home the cursor, retitle the pane (OSC 2 with ST and OSC 0 with BEL),
# ask for the cursor position, leave the alternate screen, write the clipboard; then the
# secret split by ESC[0m.
PRINTER = (
    'import os, sys; t = os.environ["TOKEN"]; sys.stdout.write("before\\n'
    "\\x1b[2J\\x1b[H\\n\\x1b]2;pwned\\x1b\\\\\\x1b]0;pwned0\\x07\\n\\x1b[6n\\x1b[?1049l\\n"
    '\\x1b]52;c;cHduZWQ=\\x07\\nsecret " + t[:7] + "\\x1b[0m" + t[7:] + "\\n"); '
    'print("-".join(["hostile", "done"]))'  # not as written: the command is on the screen too
)
SHOWN = ["^[[2J^[[H", "^[]2;pwned^[\\^[]0;pwned0^G", "^[[6n^[[?1049l", "^[]52;c;cHduZWQ=^G"]

PROFILE = f"""\
version = 1

[deployment]
name = "hostile-e2e"
service = "hostile"
environments = ["staging"]
owner = "tests"
artifact = {{ name = "hostile", tag = "v2" }}

[briefing]
aim = "Show that what a step prints stays text."
intent = "One step prints terminal commands; R rolls it back."
mishaps = ["a step prints terminal commands", "a secret is split by an escape"]

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
threshold = {{ below = 2 }}
interval = "1s"
staleness = "5s"
pass_count = 2
[metrics.source]
kind = "command"
command = ['{sys.executable}', "-c", "print(0.5)"]
value_regex = "([0-9.]+)"

[[metrics]]
id = "probe"
title = "Probe with a token"
threshold = {{ below = 1000 }}
interval = "2s"
staleness = "10s"
[metrics.source]
kind = "http"
url = "http://127.0.0.1:9/x?t=${{env:E2E_TOKEN}}"

[[stages]]
name = "staging"
environment = "staging"

[[stages.steps]]
id = "print"
title = "Print terminal commands"
command = ['{sys.executable}', "-c", '{PRINTER}']
env = {{ TOKEN = "${{env:E2E_TOKEN}}" }}
timeout = "30s"
stop_point = ["rate"]

[rollback]
commands = [["echo", "rolled back"]]
timeout = "30s"
on_failed_stop_point = "prompt"

[rollback.verify]
metrics = ["rate"]
within = "30s"

[health]
duration = "30s"
metrics = ["rate"]
"""


@pytest.fixture
def pane(tmux_ready: None) -> Iterator[TmuxPane]:
    with TmuxPane(120, 40, name="cockpit-e2e-hostile") as pane:
        yield pane


@pytest.mark.parametrize(
    "secret",
    ["e2e-s3cr3t-TOKEN-value", "e2e-s3cr3t-${oops}-value"],
    ids=["secret", "secret-holding-a-reference"],
)
def test_terminal_commands_from_a_step_stay_text(
    pane: TmuxPane, tmp_path: Path, secret: str
) -> None:
    profile = tmp_path / "hostile.toml"
    profile.write_text(PROFILE)
    sessions = tmp_path / "sessions"
    pane.start(
        [str(COCKPIT), "run", str(profile), "--sessions-dir", str(sessions)],
        env={"E2E_TOKEN": secret},
        cwd=REPO,
    )
    pane.wait_for("BRIEFING", "STAGING", timeout=40)
    title = pane.pane_info("#{pane_title}")
    pane.read_back()  # Monitor: triggers read back
    pane.wait_for("give your GO with g", timeout=40)
    pane.keys("g")
    pane.wait_for("give your GO with m", timeout=10)
    pane.keys("m")
    pane.wait_for("verify the command of step 1", timeout=10)
    pane.keys("v")
    pane.wait_for("run step 1", timeout=10)
    pane.keys("x")

    screen = pane.wait_for("hostile-done", timeout=30)
    for line in SHOWN:
        assert line in screen, f"{line!r} is not shown:\n{screen}"
    assert "secret [REDACTED]" in screen
    assert secret not in screen and secret[7:] not in screen
    assert pane.pane_info("#{pane_title}") == title
    for still_there in ("NEXT ▸", "ROLL BACK NOW", "EXECUTING", "MONITOR", "OPERATOR"):
        assert still_there in screen, f"{still_there!r} is gone:\n{screen}"

    pane.wait_for("stop point ✔ GREEN", timeout=30)  # nothing typed R for the crew meanwhile
    pane.keys("R")
    after = pane.wait_for("ROLLED BACK — VERIFIED", timeout=60)
    assert pane.pane_info("#{pane_title}") == title
    for still_there in ("NEXT ▸", "hostile-done", "^[[2J", "STAGING"):
        assert still_there in after, f"{still_there!r} is gone:\n{after}"
    pane.keys("q")
    assert pane.wait_exit(timeout=30) == 0, pane.screen(history=True)
    assert "Traceback" not in pane.screen(history=True)

    [journal] = sessions.glob("*.jsonl")
    started = [r for r in read_journal(journal) if r.kind == "rollback.started"]
    assert len(started) == 1
    assert started[0].body.get("automatic") is False
