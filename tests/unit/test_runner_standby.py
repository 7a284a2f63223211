"""The standby supervisor: started ahead, used once, or sent away cleanly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit import cli, standby
from cockpit.runner import ProcessSpec, StandbySupervisor, start_process
from cockpit.runner.supervise import WARM_AFTER


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


def _maps(pid: int) -> str:
    with open(f"/proc/{pid}/maps", encoding="ascii", errors="replace") as f:
        return f.read()


async def test_an_idle_standby_loads_what_its_run_needs_before_the_job(tmp_path: Path) -> None:
    """ctypes (a shared library, visible in /proc/PID/maps) and the helpers are loaded while
    the standby waits, not after the rollback's spawn, where they competed with the
    rollback's own first process for the CPU."""
    standby = StandbySupervisor()
    waiting = standby._popen
    assert waiting is not None
    try:
        deadline = time.monotonic() + 15
        while "_ctypes" not in _maps(waiting.pid):
            assert time.monotonic() < deadline, "the idle standby never loaded ctypes"
            await asyncio.sleep(0.02)
        # Still the same standby, still waiting: it runs its job as before.
        handle = await start_process(
            ProcessSpec(argv=("echo", "rolled back"), output_path=tmp_path / "o"),
            standby=standby,
        )
        assert handle.supervisor_pid == waiting.pid
        assert (await handle.wait()).ok
    finally:
        standby.close()


@pytest.mark.parametrize("job_waiting", [True, False])
def test_a_supervisor_whose_job_is_there_loads_nothing_first(job_waiting: bool) -> None:
    """Started for a job (or given one within WARM_AFTER), the supervisor goes straight to
    it: the spawn is never queued behind an import."""
    read_end, write_end = os.pipe()
    if job_waiting:
        os.write(write_end, b"job")
    probe = (
        "import sys, time; sys.path.append(sys.argv[1]); import supervise;"
        " t = time.monotonic(); supervise._warm_while_idle();"
        " print('redact' in sys.modules, 'ctypes' in sys.modules, time.monotonic() - t)"
    )
    import cockpit.runner.supervise as supervise

    try:
        out = subprocess.run(
            [sys.executable, "-I", "-S", "-c", probe, os.path.dirname(supervise.__file__)],
            stdin=read_end,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.split()
    finally:
        os.close(read_end)
        os.close(write_end)
    if job_waiting:
        assert out[:2] == ["False", "False"]
    else:
        assert out[:2] == ["True", "True"]
        assert float(out[2]) >= WARM_AFTER  # it waited for a job first


async def test_the_supervisor_started_early_is_the_first_one_used(tmp_path: Path) -> None:
    """``cockpit incident`` starts a supervisor before it imports anything heavy (cli): the
    first that needs one, the standby kept for R or a rollback started before it, takes it."""
    standby.start_early()
    early = standby._Early.popen
    assert early is not None
    try:
        kept = StandbySupervisor()
        assert kept._popen is early
        assert standby.take_early() is None  # taken once
        handle = await start_process(
            ProcessSpec(argv=("echo", "rolled back"), output_path=tmp_path / "o"),
            standby=kept,
        )
        assert handle.supervisor_pid == early.pid
        assert (await handle.wait()).ok
    finally:
        if standby._Early.popen is not None:
            standby.take_early()


async def test_a_rollback_with_no_standby_takes_the_early_supervisor(tmp_path: Path) -> None:
    standby.start_early()
    early = standby._Early.popen
    assert early is not None
    handle = await start_process(ProcessSpec(argv=("true",), output_path=tmp_path / "o"))
    assert handle.supervisor_pid == early.pid
    assert (await handle.wait()).ok


def test_an_early_supervisor_left_unused_exits_with_the_cockpit() -> None:
    """If the cockpit ends first (a bad profile, a held lock), the supervisor reads the end
    of its input and exits, having run nothing."""
    probe = (
        "import sys; sys.path.insert(0, sys.argv[1]); from cockpit import standby;"
        " standby.start_early(); print(standby._Early.popen.pid, flush=True)"
    )
    src = os.path.dirname(os.path.dirname(standby.__file__))
    out = subprocess.run(
        [sys.executable, "-c", probe, src], capture_output=True, text=True, check=True, timeout=30
    )
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 15
    while _alive(pid):
        assert time.monotonic() < deadline, "the unused supervisor is still running"
        time.sleep(0.02)


def test_cockpit_incident_starts_the_supervisor_before_anything_heavy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command itself (argv from the process) starts one for an incident, and not for
    a deploy, whose R comes after T0, long after the standby kept then."""
    bad = tmp_path / "bad.toml"
    bad.write_text("not = [valid", encoding="utf-8")
    started: list[str] = []
    monkeypatch.setattr(standby, "start_early", lambda: started.append("early"))
    for command, expected in (("incident", ["early"]), ("run", [])):
        started.clear()
        monkeypatch.setattr(sys, "argv", ["cockpit", command, str(bad)])
        assert cli._run(None) == 2
        assert started == expected, command
