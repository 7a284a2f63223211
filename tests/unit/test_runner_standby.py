"""The standby supervisor: started ahead, used once, or sent away cleanly."""

from __future__ import annotations

import os
from pathlib import Path

from cockpit.runner import ProcessSpec, StandbySupervisor, start_process


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_standby_supervisor_runs_the_job_it_is_given(tmp_path: Path) -> None:
    standby = StandbySupervisor()
    waiting = standby._popen
    assert waiting is not None
    out = tmp_path / "rollback.out"
    handle = await start_process(
        ProcessSpec(argv=("echo", "rolled back"), output_path=out), standby=standby
    )
    assert handle.supervisor_pid == waiting.pid  # the warm one, not a new one
    result = await handle.wait()
    assert result.ok
    assert out.read_text() == "rolled back\n"
    assert standby.take() is None  # used once


async def test_a_dead_standby_is_replaced_by_a_fresh_supervisor(tmp_path: Path) -> None:
    standby = StandbySupervisor()
    waiting = standby._popen
    assert waiting is not None
    waiting.kill()
    waiting.wait()
    handle = await start_process(
        ProcessSpec(argv=("true",), output_path=tmp_path / "o"), standby=standby
    )
    assert handle.supervisor_pid != waiting.pid
    assert (await handle.wait()).ok


def test_closing_a_standby_ends_it_without_running_anything(tmp_path: Path) -> None:
    standby = StandbySupervisor()
    waiting = standby._popen
    assert waiting is not None
    before = set(os.listdir(tmp_path))
    standby.close()
    assert waiting.returncode == 0
    assert not _alive(waiting.pid)
    assert set(os.listdir(tmp_path)) == before
