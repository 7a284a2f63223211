"""The disk under the journal fills during a step, in real tmux: JOURNAL FAILED is on the
screen, R still rolls back and verifies, and the screen and the exit message list what the
journal is missing. A real full filesystem: a small tmpfs as ``XDG_STATE_HOME``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.filesystems import small_tmpfs
from tests.support.rollback import work_dir
from tests.support.tmux import TmuxPane

pytestmark = pytest.mark.e2e

COCKPIT = Path(sys.executable).parent / "cockpit"
PROFILE = Path(__file__).resolve().parents[1] / "data" / "session" / "full_disk.toml"


def test_a_full_disk_never_stops_r_and_the_missing_record_is_named(
    tmux_ready: None, tmp_path: Path
) -> None:
    work = work_dir(tmp_path)
    with small_tmpfs(tmp_path / "state") as state, TmuxPane(120, 40, name="full") as pane:
        env = {"KILL_DIR": str(work), "FULL_DIR": str(state), "XDG_STATE_HOME": str(state)}
        pane.start([str(COCKPIT), "run", str(PROFILE)], env=env, cwd=tmp_path)
        pane.wait_for("BRIEFING", timeout=30)
        pane.read_back()
        # GO only once the screen asks for it: every check GREEN and the baseline measured.
        pane.wait_for("Operator, give your GO", timeout=30)
        pane.keys("g")
        pane.wait_for("Monitor, give your GO", timeout=30)
        pane.keys("m")
        pane.wait_for("EXECUTING", timeout=30)
        pane.keys("v")
        pane.wait_for("verified by", timeout=30)
        pane.keys("x")  # the step fills the disk
        pane.wait_for("JOURNAL FAILED", timeout=60)
        pane.keys("R")
        screen = pane.wait_for("ROLLED BACK — VERIFIED", "NOT RECORDED", timeout=60)
        notice = screen.split("NOT RECORDED", 1)[1]
        assert "ROLLED BACK — VERIFIED" in notice  # the verdict, named as not on record
        assert (work / "rollback-runs").read_text() == "ran\n"
        pane.keys("q")
        assert pane.wait_exit(timeout=30) == 1
        after = pane.screen(history=True)
        assert "JOURNAL FAILED" in after
        assert "NOT IN THE JOURNAL" in after
        listed = after.split("NOT IN THE JOURNAL", 1)[1]
        for fact in ("ROLLING BACK NOW", "rollback command 1 finished: exit 0", "ROLLED BACK"):
            assert fact in listed
