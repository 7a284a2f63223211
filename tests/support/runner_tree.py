"""A process tree that tries to escape: used by the timeout tests.

Usage: runner_tree.py PIDFILE [--ignore-term]

The root starts two helpers. Each forks a grandchild that calls setsid()
(leaving the process group) and ignores SIGTERM; one helper then exits, so its
grandchild is orphaned. Every pid is appended to PIDFILE and "ready" is the
last line once all are running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def record(pidfile: str, text: str) -> None:
    with open(pidfile, "a") as f:
        f.write(text + "\n")


def escaper(pidfile: str, helper_exits: bool) -> None:
    read_end, write_end = os.pipe()
    if os.fork() == 0:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        record(pidfile, str(os.getpid()))
        os.write(write_end, b"x")
        while True:
            time.sleep(60)
    os.read(read_end, 1)  # the grandchild has recorded itself
    if helper_exits:
        sys.exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("helper ready", flush=True)
    while True:
        time.sleep(60)


def main() -> None:
    pidfile = sys.argv[1]
    if len(sys.argv) > 2 and sys.argv[2] == "--helper":
        escaper(pidfile, helper_exits=sys.argv[3] == "exit")
        return
    if "--ignore-term" in sys.argv:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    record(pidfile, str(os.getpid()))
    exiting = subprocess.Popen([sys.executable, __file__, pidfile, "--helper", "exit"])
    exiting.wait()
    staying = subprocess.Popen(
        [sys.executable, __file__, pidfile, "--helper", "stay"], stdout=subprocess.PIPE
    )
    assert staying.stdout is not None
    staying.stdout.readline()
    record(pidfile, str(staying.pid))
    record(pidfile, "ready")
    print("tree ready", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
