"""The demo's service and load die with the cockpit that started them, even on SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cockpit.runner.proctree import is_alive

STARTER = """
import sys, time
from pathlib import Path
from cockpit.demo.stack import DemoStack
stack = DemoStack(Path(sys.argv[1]), rate=5.0, warmup=0.2)
stack.start()
print(stack.service.pid, stack.load.pid, flush=True)
time.sleep(600)
"""


def test_sigkill_of_the_starter_takes_the_demo_down(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path / "demo")],
        stdout=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert starter.stdout is not None
    service, load = (int(p) for p in starter.stdout.readline().split())
    assert is_alive(service)
    assert is_alive(load)
    os.kill(starter.pid, signal.SIGKILL)
    starter.wait()
    deadline = time.monotonic() + 15
    while (is_alive(service) or is_alive(load)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [pid for pid in (service, load) if is_alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "demo processes outlived the cockpit that started them"
