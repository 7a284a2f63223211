"""``DemoStack``: the service and its load as real processes, and nothing left after stop."""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

import pytest

from cockpit.demo.stack import DemoStack
from tests.support.demo import pid_alive, stats, wait_until


def test_stack_starts_serves_and_stops_without_leftovers(tmp_path: Path) -> None:
    state_dir = tmp_path / "demo"
    stack = DemoStack(state_dir, rate=50.0, warmup=0.3)
    try:
        stack.start()
        assert stack.port > 0
        assert stack.url == f"http://127.0.0.1:{stack.port}"
        assert (state_dir / "current").read_text() == "v1\n"
        assert (state_dir / "previous").read_text() == "v1\n"
        assert (state_dir / "smoke-passed").is_file()
        env = stack.env()
        assert env["COCKPIT_DEMO_URL"] == stack.url
        assert env["COCKPIT_DEMO_STATE"] == str(state_dir)
        assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)
        # The load generator runs: requests beyond the smoke test's 20 arrive.
        wait_until(lambda: stats(stack.url)["requests_total"] > 40, what="load")
        assert stack.service.pid is not None
        assert stack.load is not None
        pids = [stack.service.pid, stack.load.pid]
        assert all(pid_alive(pid) for pid in pids)
    finally:
        stack.stop()
    assert not any(pid_alive(pid) for pid in pids)
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", stack.port)) != 0  # nobody listens any more
    stack.stop()  # idempotent


def test_stack_context_manager_without_load(tmp_path: Path) -> None:
    with DemoStack(tmp_path / "demo", rate=0, warmup=0.3) as stack:
        assert stack.load is None
        pid = stack.service.pid
        assert pid is not None
        assert stats(stack.url)["requests_total"] == 20  # the smoke test only
    assert not pid_alive(pid)


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    stack = DemoStack(tmp_path / "demo", rate=0, warmup=0.3)
    stack.start()
    pid = stack.service.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    stack.service.stop_grace = 0.3
    stack.stop()
    assert not pid_alive(pid)


def test_start_failure_leaves_nothing(tmp_path: Path) -> None:
    first = DemoStack(tmp_path / "demo", rate=0, warmup=0.3)
    first.start()
    try:
        # A second stack on the same state directory is refused by the service's lock.
        second = DemoStack(tmp_path / "demo", rate=0)
        with pytest.raises(RuntimeError, match="another demo service already runs"):
            second.start(timeout=10)
        assert second.service.proc is None
    finally:
        first.stop()
