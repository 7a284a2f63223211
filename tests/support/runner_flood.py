"""Write MEGABYTES of output fast, with $RUNNER_TEST_SECRET in every 1000th line.

Usage: runner_flood.py MEGABYTES
Prints nothing else; the test computes the expected redacted size.
"""

from __future__ import annotations

import os
import sys

secret = os.environ.get("RUNNER_TEST_SECRET", "")
total = int(sys.argv[1]) * 1024 * 1024
line = b"x" * 99 + b"\n"
secret_line = (secret.encode() + b"y" * 100)[:99] + b"\n"
out = sys.stdout.buffer
block = []
for i in range(total // 100):
    block.append(secret_line if secret and i % 1000 == 0 else line)
    if len(block) == 1000:
        out.write(b"".join(block))
        block = []
out.write(b"".join(block))
out.flush()
