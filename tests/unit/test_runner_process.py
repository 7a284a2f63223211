"""Steps and rollbacks under the detached supervisor, with real processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.runner import (
    REDACTED,
    ProcessHandle,
    ProcessSpec,
    SpawnError,
    StandbySupervisor,
    reattach,
    start_process,
)
from cockpit.runner.proctree import is_alive
from tests.support.filesystems import small_tmpfs
from tests.support.processes import kill_recorded, my_children, wait_for

SUPPORT = Path(__file__).resolve().parents[1] / "support"
PY = sys.executable
SECRET = "s3cr3t-TOKEN-value-9f8e7d"


def cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


async def test_injection_strings_reach_the_child_literally(tmp_path: Path) -> None:
    values = [
        f";touch {tmp_path}/x",
        f"$(touch {tmp_path}/y)",
        f"`touch {tmp_path}/z`",
        f"a\nb; touch {tmp_path}/w",
        "'\"quoted\"'",
        "$HOME ${PATH} *",
    ]
    out = tmp_path / "out.log"
    handle = await start_process(
        ProcessSpec((PY, str(SUPPORT / "runner_argv_echo.py"), *values), out)
    )
    result = await handle.wait()
    assert result.ok, result
    assert json.loads(out.read_text()) == values
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.log", "out.log.result.json"]


async def test_shell_true_runs_through_sh(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    handle = await start_process(ProcessSpec(("echo one; echo two >&2; exit 4",), out, shell=True))
    result = await handle.wait()
    assert (result.exit_code, result.ok) == (4, False)
    assert out.read_text() == "one\ntwo\n"
    assert json.loads(handle.result_path.read_text())["exit_code"] == 4


def assert_no_secret(handle: ProcessHandle, texts: list[str]) -> None:
    for text in [handle.output_path.read_text(), handle.result_path.read_text(), *texts]:
        assert SECRET not in text


@pytest.mark.parametrize(("mode", "timeout"), [("ok", None), ("fail", None), ("hang", 0.5)])
async def test_secret_is_redacted_everywhere(
    tmp_path: Path, mode: str, timeout: float | None
) -> None:
    out = tmp_path / "out.log"
    ready = tmp_path / "ready"
    spec = ProcessSpec(
        (PY, str(SUPPORT / "runner_secret_child.py"), mode, str(ready)),
        out,
        env={"RUNNER_TEST_SECRET": SECRET},
        secrets=(SECRET,),
        timeout=timeout,
        grace=0.5,
    )
    handle = await start_process(spec)
    await wait_for(ready.exists, 10, "the child to print the secret")
    for pid in (handle.supervisor_pid, handle.pid):
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):  # it may have ended
            assert SECRET.encode() not in cmdline(pid)
    # The supervisor gets the environment on a pipe, not in its own environ (read while it
    # lives: it may end between the check and the read).
    with contextlib.suppress(ProcessLookupError, FileNotFoundError):
        assert SECRET.encode() not in Path(f"/proc/{handle.supervisor_pid}/environ").read_bytes()
    result = await handle.wait()
    assert result.ok == (mode == "ok")
    assert result.timed_out == (mode == "hang")
    text = out.read_text()
    assert text.count(REDACTED) == 3, text
    assert f"before {REDACTED} after\n" in text
    assert_no_secret(handle, [repr(result)])


async def test_spawn_failures_are_clear_errors(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    with pytest.raises(SpawnError, match="command not found: no-such-command-x"):
        await start_process(ProcessSpec(("no-such-command-x",), out))
    assert "command not found" in out.read_text()
    assert json.loads((tmp_path / "out.log.result.json").read_text())["error"]

    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(SpawnError, match="permission denied") as info:
        await start_process(ProcessSpec((str(script),), tmp_path / "second.log"))
    assert info.value.result.error is not None
    assert not info.value.result.ok

    with pytest.raises(SpawnError, match="working directory"):
        await start_process(ProcessSpec(("true",), tmp_path / "third.log", cwd=tmp_path / "x"))


async def test_spawn_error_message_is_redacted(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    missing = tmp_path / SECRET  # a secret can reach a message through any path
    with pytest.raises(SpawnError, match="working directory") as info:
        await start_process(ProcessSpec(("true",), out, cwd=missing, secrets=(SECRET,)))
    assert SECRET not in info.value.message
    assert SECRET not in out.read_text()
    assert SECRET not in (tmp_path / "out.log.result.json").read_text()


async def test_secret_in_argv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpawnError, match="environment"):
        await start_process(ProcessSpec(("echo", SECRET), tmp_path / "o", secrets=(SECRET,)))


async def test_background_process_left_by_a_step_keeps_its_output(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    marker = tmp_path / "survived"
    command = f"echo started; (sleep 1.5; echo late; touch {marker}) & exit 0"
    handle = await start_process(ProcessSpec((command,), out, shell=True))
    result = await handle.wait()
    assert result.ok
    # It must not die of SIGPIPE once the result is written: its output still arrives.
    await wait_for(marker.exists, 10, "the background process to finish")
    await wait_for(lambda: out.read_text() == "started\nlate\n", 5, "its output")


async def test_timeout_sends_term_then_kill(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: print('got TERM', flush=True))\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(1)\n"
    )
    handle = await start_process(ProcessSpec((PY, "-c", child), out, timeout=0.5, grace=0.5))
    result = await handle.wait()
    assert result.timed_out
    assert result.signal == signal.SIGKILL
    assert result.error is not None
    assert "killed after" in result.error
    assert out.read_text() == "ready\ngot TERM\n"
    assert 0.9 < result.duration < 5


async def test_timeout_cleans_a_tree_that_escapes_with_setsid(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    pidfile = tmp_path / "pids"
    handle = await start_process(
        ProcessSpec(
            (PY, str(SUPPORT / "runner_tree.py"), str(pidfile), "--ignore-term"),
            out,
            timeout=2.0,
            grace=0.3,
        )
    )

    def ready() -> bool:
        return pidfile.exists() and pidfile.read_text().endswith("ready\n")

    try:
        await wait_for(ready, 10, "the process tree")
        pids = [int(line) for line in pidfile.read_text().split() if line.isdigit()]
        assert len(pids) == 4
        assert all(is_alive(pid) for pid in pids)
        sessions = {os.getsid(pid) for pid in pids}
        assert len(sessions) == 3  # two grandchildren left the step's session
        result = await handle.wait()
        assert result.timed_out
        await wait_for(lambda: not any(is_alive(pid) for pid in pids), 5, "the tree to be gone")
    finally:
        kill_recorded(pidfile)


async def test_terminate_and_cancelled_wait_stop_the_step(tmp_path: Path) -> None:
    handle = await start_process(ProcessSpec(("sleep", "30"), tmp_path / "a.log"))
    result = await handle.terminate(grace=1.0)
    assert result.signal == signal.SIGTERM
    assert result.error == "terminated on request"
    assert not is_alive(handle.pid)

    handle = await start_process(ProcessSpec(("sleep", "30"), tmp_path / "b.log", grace=0.5))
    waiter = asyncio.create_task(handle.wait())
    await asyncio.sleep(0)  # let the waiter start awaiting
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await wait_for(lambda: not is_alive(handle.pid), 5, "the step to end")
    await wait_for(lambda: handle.poll() is not None, 5, "the result")
    assert handle.poll() == await handle.wait()


async def test_cancelled_start_leaves_nothing_running(tmp_path: Path) -> None:
    rng = random.Random(99)
    pidfile = tmp_path / "pids"
    command = f"echo $$ >> {pidfile}; exec sleep 30"
    children_before = my_children()
    for i in range(20):
        task = asyncio.create_task(
            start_process(ProcessSpec((command,), tmp_path / f"{i}.log", shell=True, grace=0.2))
        )
        await asyncio.sleep(rng.uniform(0, 0.02))
        if task.cancel():
            with pytest.raises(asyncio.CancelledError):
                await task
        else:
            await (await task).terminate(grace=0.2)
    pids = [int(p) for p in pidfile.read_text().split()] if pidfile.exists() else []
    await wait_for(lambda: not any(is_alive(pid) for pid in pids), 10, "every step gone")
    await wait_for(lambda: my_children() <= children_before, 10, "supervisors reaped")


async def test_wait_can_leave_the_step_running_on_cancel(tmp_path: Path) -> None:
    handle = await start_process(
        ProcessSpec((PY, "-c", "import time; time.sleep(0.5)"), tmp_path / "o")
    )
    waiter = asyncio.create_task(handle.wait(terminate_on_cancel=False))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert is_alive(handle.pid)
    assert (await handle.wait()).ok


async def test_step_survives_the_cockpit_being_killed(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    parent = subprocess.Popen(
        [PY, str(SUPPORT / "runner_parent.py"), str(out), "12"], stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    info = json.loads(parent.stdout.readline())
    parent.kill()
    parent.wait()
    assert is_alive(info["pid"]), "the step must still be running after the parent died"
    result_path = tmp_path / "out.log.result.json"
    await wait_for(result_path.exists, 15, "the step's result")
    result = json.loads(result_path.read_text())
    assert result["exit_code"] == 0
    assert result["signal"] is None
    assert out.read_text() == "".join(f"line {i}\n" for i in range(12)) + "done\n"
    await wait_for(lambda: not is_alive(info["supervisor_pid"]), 5, "the supervisor to exit")


async def test_reattach_after_restart(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    gate = tmp_path / "gate"
    child = f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.01)\n"
    first = await start_process(ProcessSpec((PY, "-c", child), out))
    again = reattach(
        out,
        supervisor_pid=first.supervisor_pid,
        pid=first.pid,
        pgid=first.pgid,
        started_wall=first.started_wall,
    )
    assert again.poll() is None
    gate.touch()
    assert (await again.wait()).ok
    stale = reattach(out, supervisor_pid=os.getpid(), pid=1, pgid=1, started_wall=0.0)
    assert (await stale.wait()).ok  # finished: read from the result file
    (tmp_path / "out.log.result.json").unlink()
    gone = reattach(out, supervisor_pid=os.getpid(), pid=1, pgid=1, started_wall=0.0)
    assert (await gone.wait()).error is not None  # not a supervisor: never trusted
    await first.wait()


def _vm_kib(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


async def test_fifty_megabytes_of_output(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    megabytes = 50
    handle = await start_process(
        ProcessSpec(
            (PY, str(SUPPORT / "runner_flood.py"), str(megabytes)),
            out,
            env={"RUNNER_TEST_SECRET": SECRET},
            secrets=(SECRET,),
        )
    )
    peak = 0
    waiter = asyncio.create_task(handle.wait())
    while not waiter.done():
        hwm = _vm_kib(handle.supervisor_pid, "VmHWM")
        if hwm is not None:
            peak = max(peak, hwm)
        await asyncio.sleep(0.05)
    result = await waiter
    assert result.ok, result
    lines = megabytes * 1024 * 1024 // 100
    secret_lines = (lines + 999) // 1000
    expected = lines * 100 + secret_lines * (len(REDACTED) - len(SECRET))
    assert out.stat().st_size == expected
    with out.open("rb") as f:
        assert SECRET.encode() not in f.read()
    print(f"supervisor peak RSS while streaming 50 MB: {peak} KiB")
    assert 0 < peak < 40 * 1024, f"supervisor memory grew to {peak} KiB"


async def test_the_result_reaches_the_cockpit_when_the_disk_is_full(tmp_path: Path) -> None:
    # A real full filesystem: neither the output nor the result file can be written. The
    # supervisor sends the result on its status pipe too; a quick command's result can arrive
    # together with its "started" line (the cockpit's event loop was busy), and must not be
    # lost with it. Half the runs keep the loop busy while the command runs.
    with small_tmpfs(tmp_path / "full", size="64k") as full:
        with contextlib.suppress(OSError), (full / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 65536)
        for n in range(10):
            standby = StandbySupervisor() if n % 2 else None
            spec = ProcessSpec(("/bin/sh", "-c", f"echo run {n}; exit 3"), full / f"out-{n}")
            if n % 2:
                asyncio.get_running_loop().call_soon(time.sleep, 0.3)  # a busy screen
            handle = await start_process(spec, standby=standby)
            result = await handle.wait()
            assert result.exit_code == 3, result
            assert result.error is None, result
            assert result.note is not None
            assert "result file could not be written" in result.note
