"""run_command: short checks with bounded, redacted output and no process left behind."""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

from cockpit.runner import REDACTED, run_command
from cockpit.runner.proctree import is_alive
from tests.support.processes import kill_recorded, my_children, wait_for

SUPPORT = Path(__file__).resolve().parents[1] / "support"
PY = sys.executable
SECRET = "cmd-secret-4b3a2c1d"


async def test_success_failure_and_literal_argv(tmp_path: Path) -> None:
    result = await run_command([PY, str(SUPPORT / "runner_argv_echo.py"), "$(touch x)"], timeout=10)
    assert result.ok
    assert result.stdout == '["$(touch x)"]\n'
    result = await run_command(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    result = await run_command(["echo $((1+2))"], shell=True, timeout=10, cwd=tmp_path)
    assert result.stdout == "3\n"


async def test_errors_are_values(tmp_path: Path) -> None:
    result = await run_command(["no-such-command-y"], timeout=5)
    assert result.error == "command not found: no-such-command-y"
    assert result.exit_code is None
    assert (await run_command([], timeout=5)).error == "empty command"
    missing = tmp_path / SECRET
    result = await run_command(["true"], cwd=missing, secrets=[SECRET], timeout=5)
    assert result.error is not None
    assert result.error.startswith("cannot use working directory")
    assert SECRET not in result.error
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n")
    assert (await run_command([str(script)], timeout=5)).error == f"permission denied: {script}"


async def test_secrets_redacted_on_every_path(tmp_path: Path) -> None:
    env = {"RUNNER_TEST_SECRET": SECRET}
    script = str(SUPPORT / "runner_secret_child.py")
    for mode, timeout in (("ok", 10.0), ("fail", 10.0), ("hang", 0.5)):
        result = await run_command([PY, script, mode], env=env, secrets=[SECRET], timeout=timeout)
        assert result.timed_out == (mode == "hang")
        assert result.exit_code == {"ok": 0, "fail": 1, "hang": None}[mode]
        assert SECRET not in repr(result)
        assert f"before {REDACTED} after" in result.stdout
        assert f"login with {REDACTED} failed" in result.stderr


async def test_output_is_bounded() -> None:
    result = await run_command(
        [PY, str(SUPPORT / "runner_flood.py"), "2"], timeout=20, max_output=1000
    )
    assert result.ok
    assert result.stdout.startswith("x" * 99 + "\n")
    assert len(result.stdout) < 1100
    assert "more characters not kept" in result.stdout


async def test_timeout_kills_the_whole_tree(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"

    async def ready_then_timeout() -> None:
        result = await run_command(
            [PY, str(SUPPORT / "runner_tree.py"), str(pidfile), "--ignore-term"], timeout=2.0
        )
        assert result.timed_out

    try:
        await ready_then_timeout()
    finally:
        kill_recorded(pidfile)
    text = pidfile.read_text()
    assert text.endswith("ready\n"), "the tree was not fully started before the timeout"
    pids = [int(line) for line in text.split() if line.isdigit()]
    assert len(pids) == 4
    await wait_for(lambda: not any(is_alive(pid) for pid in pids), 5, "the tree to be gone")
    await wait_for(lambda: not my_children(), 5, "no children or zombies")


async def test_cancel_at_random_points_leaves_nothing(tmp_path: Path) -> None:
    rng = random.Random(1234)
    recorder = tmp_path / "pids"
    # Each run records its own pid and a background child's before sleeping.
    command = f"echo $$ >> {recorder}; (sleep 30; :) & echo $! >> {recorder}; sleep 30"
    for _ in range(100):
        task = asyncio.create_task(run_command([command], shell=True, timeout=30))
        await asyncio.sleep(rng.uniform(0, 0.03))
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        else:
            raise AssertionError("the command cannot finish on its own")
    pids = [int(p) for p in recorder.read_text().split()] if recorder.exists() else []
    assert pids, "no run got far enough to record its pids: cancel points too early"
    await wait_for(lambda: not any(is_alive(pid) for pid in pids), 10, "every recorded pid gone")
    await wait_for(lambda: not my_children(), 10, "no children or zombies of the test")
