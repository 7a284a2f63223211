"""Outside text on the screen: a step that prints terminal commands, and a profile whose
strings hold them, reach the screen as inert text; a secret interrupted by an escape or a
zero-width character never shows. Real step process (and supervisor) on the Pilot."""

from __future__ import annotations

import html
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Log

from cockpit.clock import FakeClock
from cockpit.engine import Phase
from cockpit.inert import is_inert
from cockpit.runner import REDACTED
from cockpit.session import Session
from cockpit.ui.app import CockpitApp, make_app
from cockpit.ui.widgets.metrics import MetricRow
from cockpit.ui.widgets.text import Label
from tests.support.ui import (
    FAST_PROFILE,
    WALL,
    feed,
    new_session,
    output_lines,
    read_back,
    text_of,
    wait_until,
)
from tests.unit.test_probe_fakeserver import FakeServer

pytestmark = pytest.mark.usefixtures("utc_timezone")

SECRET = "ui-s3cr3t-T0KEN-value"
HEALTHY = {"error-rate": 0.3, "p99": 120.0}

# What the step prints: clear screen, retitle the pane, write the clipboard, ask the cursor
# position, a C1 CSI and a bidi override; then the secret split by ESC[0m and by U+200B.
PRINTER = (
    'import os, sys; t = os.environ["TOKEN"]; sys.stdout.write('
    '"out \\x1b[2J\\x1b[H\\x1b]2;pwned\\x07\\x1b]52;c;cm0=\\x07\\x1b[6n\\x9b2J \\u202eevil "'
    ' + t[:6] + "\\x1b[0m" + t[6:] + " " + t[:6] + "\\u200b" + t[6:] + " done\\n")'
)
SHOWN = "out ^[[2J^[[H^[]2;pwned^G^[]52;c;cm0=^G^[[6n\\x9b2J \\u202eevil"


def hostile_profile(directory: Path, *, strings: bool, extra: str = "") -> Path:
    """The Pilot tests' profile with a step printing terminal commands, and with ``strings``
    such commands in its strings too (TOML's \\u escapes put the raw characters there)."""
    text = FAST_PROFILE.read_text()
    swaps = {
        'name = "fast-web v2"': 'name = "fast-web \\u001b]2;pwned\\u0007 v2"',
        'aim = "Ship fast-web v2': 'aim = "\\u001b[2J Ship \\u202efast-web v2',
        'title = "Rollback path validated (dry run)"': 'title = "Rollback \\u009b2J path"',
        'title = "Switch fast-web to v2"': 'title = "Switch \\u001b[6n fast-web\\u200b"',
        'title = "HTTP 5xx rate"': 'title = "HTTP \\u001b]52;c;cm0=\\u0007 5xx"',
    }
    for old, new in swaps.items() if strings else ():
        assert old in text
        text = text.replace(old, new)
    start = text.index('command = ["/bin/sh", "-c", "echo deploying v2;')
    end = text.index("\n", start)
    command = (
        f"command = ['{sys.executable}', '-c', '{PRINTER}']\n"
        'env = { TOKEN = "${env:UI_TOKEN}" }'
    )
    text = text[:start] + command + text[end:] + extra
    path = directory / "hostile.toml"
    path.write_text(text)
    return path


def assert_inert_screen(app: CockpitApp) -> str:
    """Every label, metric row and output line is inert; returns the screenshot's text."""
    for label in app.screen.query(Label):
        shown = str(label.render())
        assert is_inert(shown, multiline=True), (label.id, shown)
    for row in app.screen.query(MetricRow):
        assert is_inert(str(row.render())), str(row.render())
    for line in app.screen.query_one("#output", Log).lines:
        assert is_inert(line), line
    screen = html.unescape(app.export_screenshot())
    raw = [c for c in set(screen) if not is_inert(c, multiline=True)]
    assert raw == [], raw
    return screen


@dataclass
class Crew:
    session: Session
    clock: FakeClock
    app: CockpitApp


def crew_for(tmp_path: Path, *, strings: bool, extra: str = "") -> Crew:
    workdir = tmp_path / "ui"
    workdir.mkdir()
    smoke = workdir / "smoke-passed"
    smoke.touch()
    os.utime(smoke, (WALL - 60, WALL - 60))
    clock = FakeClock(WALL)
    environ = {"COCKPIT_UI_DIR": str(workdir), "UI_TOKEN": SECRET}
    profile = hostile_profile(tmp_path, strings=strings, extra=extra)
    session = new_session(profile, tmp_path, clock, environ)
    return Crew(session, clock, make_app(session, clock=clock, run_loops=False))


async def run_step_1(pilot: Pilot[None], crew: Crew) -> list[str]:
    """Through the checklist and GO, then step 1 (which prints); its output as shown."""
    await read_back(pilot)
    await crew.session.run_checks()
    await pilot.press("c", "k")
    feed(crew.session, crew.clock, HEALTHY)
    await pilot.pause()
    await pilot.press("g", "m")
    assert crew.session.state.phase is Phase.EXECUTING
    await pilot.press("v", "x")
    step = crew.session.state.steps[0]
    await wait_until(pilot, lambda: step.finished is not None, "the step", 30.0)

    def printed() -> bool:
        # The command is shown first, and it holds the same words: wait for what it printed.
        return any(line.startswith("out ") for line in output_lines(crew.app))

    await wait_until(pilot, printed, "the step's output")
    return output_lines(crew.app)


async def test_a_step_printing_terminal_commands_and_a_split_secret_is_shown_inert(
    tmp_path: Path,
) -> None:
    crew = crew_for(tmp_path, strings=False)
    async with crew.app.run_test(size=(120, 40)) as pilot:
        lines = await run_step_1(pilot, crew)
        printed = next(line for line in lines if line.startswith("out "))
        assert printed.startswith(SHOWN)
        assert printed.endswith(f"{REDACTED} {REDACTED} done")
        screen = assert_inert_screen(crew.app)
        assert SECRET not in screen
        assert SECRET[6:] not in "\n".join(lines)
        await crew.session.close()


async def test_profile_strings_holding_terminal_commands_are_shown_inert(tmp_path: Path) -> None:
    crew = crew_for(tmp_path, strings=True)
    app = crew.app
    async with app.run_test(size=(120, 40)) as pilot:
        assert_inert_screen(app)
        assert "fast-web ^[]2;pwned^G v2" in text_of(app, "#deployment")
        assert "^[[2J Ship \\u202efast-web" in text_of(app, "#briefing")
        await run_step_1(pilot, crew)
        assert "Switch ^[[6n fast-web\\u200b" in text_of(app, "#steps")
        assert "HTTP ^[]52;c;cm0" in str(app.screen.query(MetricRow).first().render())
        assert_inert_screen(app)
        await crew.session.close()


async def test_a_secret_in_a_probe_answer_never_reaches_the_screen(tmp_path: Path) -> None:
    async with FakeServer() as server:
        # Where the old detail cut the body (80 characters) and so left the secret's start.
        server.text("/login", "x" * 60 + SECRET + " was refused", status=401)
        check = (
            '\n[[checks]]\nid = "login"\ntitle = "Login works"\n'
            f'[checks.source]\nkind = "http"\nurl = "{server.url}/login"\n'
            'headers = { Authorization = "${env:UI_TOKEN}" }\n'
        )
        crew = crew_for(tmp_path, strings=False, extra=check)
        async with crew.app.run_test(size=(120, 40)) as pilot:
            await read_back(pilot)
            await crew.session.run_checks()
            await pilot.pause()
            checklist = text_of(crew.app, "#checklist")
            assert "HTTP 401" in checklist
            assert "[REDAC" in checklist
            screen = assert_inert_screen(crew.app)
            shown = [SECRET[k : k + 6] for k in range(len(SECRET) - 5)]
            assert [w for w in shown if w in screen or w in checklist] == []
            await crew.session.close()


async def test_a_screen_tail_redacts_and_sanitises_an_output_file_it_did_not_write(
    tmp_path: Path,
) -> None:
    # A file written without the supervisor (an older cockpit, another tool): the screen's
    # reader redacts with the session's secrets and makes each line inert on its own.
    from cockpit.runner import OutputTail

    path = tmp_path / "step.out"
    path.write_text(
        f"a {SECRET[:4]}\x1b[0m{SECRET[4:]} b\n\x1b]2;t\x07 {SECRET[:3]}\u200b{SECRET[3:]}\ntail"
    )
    tail = OutputTail(path, secrets=(SECRET,))
    assert tail.read_lines() == [f"a {REDACTED} b", f"^[]2;t^G {REDACTED}"]
    assert tail.flush_partial() == ["tail"]
