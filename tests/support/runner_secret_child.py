"""Print $RUNNER_TEST_SECRET on stdout and stderr one byte at a time, then end as told.

Usage: runner_secret_child.py ok|fail|hang [ready_file]
"""

from __future__ import annotations

import os
import sys
import time

secret = os.environ["RUNNER_TEST_SECRET"]
mode = sys.argv[1]
for stream in (sys.stdout, sys.stderr):
    stream.write("before ")
    for ch in secret:
        stream.write(ch)
        stream.flush()
    stream.write(" after\n")
    stream.flush()
print(f"error: login with {secret} failed", file=sys.stderr, flush=True)
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        f.write("ready")
if mode == "fail":
    sys.exit(1)
if mode == "hang":
    while True:
        time.sleep(60)
