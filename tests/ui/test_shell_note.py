"""A shell step whose ``${var:}`` values were quoted says so beside the command it shows."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
import tomli_w

from cockpit.clock import FakeClock
from cockpit.profile.shell import QUOTED_NOTE
from cockpit.ui.app import make_app
from tests.support.pilot import Crew, running, to_execution
from tests.support.ui import FAST_PROFILE, WALL, new_session, text_of

pytestmark = pytest.mark.usefixtures("utc_timezone")

HOSTILE = "v2; touch pwned"


def shell_crew(tmp_path: Path, command: str) -> Crew:
    """The fast profile with step 1 as this shell text; RELEASE holds a hostile value."""
    workdir = tmp_path / "ui"
    workdir.mkdir()
    smoke = workdir / "smoke-passed"
    smoke.touch()
    os.utime(smoke, (WALL - 60, WALL - 60))
    data = tomllib.loads(FAST_PROFILE.read_text())
    step = data["stages"][0]["steps"][0]
    step["command"], step["shell"] = [command], True
    profile = tmp_path / "shell.toml"
    profile.write_text(tomli_w.dumps(data))
    clock = FakeClock(WALL)
    environ = {"COCKPIT_UI_DIR": str(workdir), "RELEASE": HOSTILE}
    session = new_session(profile, tmp_path, clock, environ)
    return Crew(session, clock, make_app(session, clock=clock, run_loops=False), workdir)


async def test_the_procedure_and_the_monitor_show_the_quoted_command_and_why(
    tmp_path: Path,
) -> None:
    crew = shell_crew(tmp_path, "echo deploying ${var:RELEASE}")
    async with running(crew) as pilot:
        steps = " ".join(text_of(crew.app, "#steps").split())
        assert "$ echo deploying 'v2; touch pwned'" in steps, steps
        assert f"(via /bin/sh -c; {QUOTED_NOTE})" in steps, steps
        await to_execution(pilot, crew)
        task = " ".join(text_of(crew.app, "#monitor-task").split())
        assert "$ /bin/sh -c echo deploying 'v2; touch pwned'" in task, task
        assert f"({QUOTED_NOTE})" in task, task


async def test_a_shell_step_without_references_has_no_note(tmp_path: Path) -> None:
    crew = shell_crew(tmp_path, "echo deploying v2")
    async with running(crew) as pilot:
        steps = " ".join(text_of(crew.app, "#steps").split())
        assert "(via /bin/sh -c)" in steps, steps
        await to_execution(pilot, crew)
        assert QUOTED_NOTE not in text_of(crew.app, "#monitor-task")
