"""A journal writer for crash tests: appends until killed, reporting what is durable.

Usage: ``python -I -S journal_writer.py SRC_DIR JOURNAL SEED``

It prints ``ready <records>`` once the journal is open, then ``<seq> <hash>`` for every record,
each line only after ``Journal.append`` returned (so after the record's fsync). Records vary in
size; the large ones span many pages, so a SIGKILL can land in the middle of their write.
Started with ``-I -S`` for a fast start, so the package directory comes in as an argument.
"""

from __future__ import annotations

import os
import random
import sys


def main() -> int:
    """Append records until killed (or until the reader goes away)."""
    src_dir, journal_path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.path.insert(0, src_dir)
    from pathlib import Path

    from cockpit.journal import Actor, Journal

    rng = random.Random(seed)
    actor = Actor(role="writer", user="crash-test", tty=None)
    journal = Journal.open(Path(journal_path))
    os.write(1, f"ready {journal.last_seq}\n".encode())
    try:
        for _ in range(100_000):
            size = rng.choice((10, 100, 300, 1000, 3000, 10, 100, 65_536))
            record = journal.append(
                "test.sample",
                {"pad": "x" * size, "seed": seed},
                actor=actor,
                wall=1_800_000_000.0 + journal.last_seq,
                t_plus=None,
            )
            os.write(1, f"{record.seq} {record.hash}\n".encode())
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
