"""A stand-in cockpit: start a step, report its pids, then wait to be SIGKILLed.

Usage: runner_parent.py OUTPUT_PATH LINES
The step prints LINES numbered lines, 0.1 s apart, after the parent is gone.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from cockpit.runner import ProcessSpec, start_process

STEP = """
import sys, time
for i in range(int(sys.argv[1])):
    print(f"line {i}", flush=True)
    time.sleep(0.1)
print("done", flush=True)
"""


async def main() -> None:
    handle = await start_process(
        ProcessSpec((sys.executable, "-c", STEP, sys.argv[2]), Path(sys.argv[1]))
    )
    print(json.dumps({"pid": handle.pid, "supervisor_pid": handle.supervisor_pid}), flush=True)
    while True:
        time.sleep(60)  # blocking on purpose: this process only waits to be killed


asyncio.run(main())
