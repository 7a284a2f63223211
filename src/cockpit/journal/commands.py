"""``cockpit verify JOURNAL``: check a session journal's hash chain and anchors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cockpit.inert import inert
from cockpit.journal.errors import JournalError
from cockpit.journal.reader import verify_journal

EXIT_INTACT = 0
EXIT_DAMAGED = 1
EXIT_UNREADABLE = 2


def verify_command(args: argparse.Namespace) -> int:
    """Verify ``args.journal``: exit 0 intact, 1 damaged, 2 unreadable; one line, no traceback."""
    path = Path(args.journal)
    try:
        report = verify_journal(path)
    except (JournalError, OSError) as exc:
        print(inert(f"unreadable: {exc}"), file=sys.stderr)
        return EXIT_UNREADABLE
    if report.ok:
        if report.anchored is None:
            witness = "no anchor file, so an edit that recomputed the chain would not show"
        else:
            witness = f"{report.anchored} anchored"
        print(inert(f"ok: {report.count} records, chain intact ({witness}): {path}"))
        return EXIT_INTACT
    if report.torn_tail:
        broken = path.with_name(path.name + ".broken")
        print(
            inert(
                f"damaged: {path}: record {report.first_bad_seq}: {report.reason};"
                f" the {report.count} records before it verify. Opening the session again"
                f" repairs it: the original is kept as {broken.name} and the file is cut back"
                f" to record {report.count}."
            ),
            file=sys.stderr,
        )
    else:
        print(
            inert(
                f"damaged: {path}: first bad record {report.first_bad_seq}: {report.reason};"
                f" the {report.count} records before it verify. Possible tampering: not"
                " repaired."
            ),
            file=sys.stderr,
        )
    return EXIT_DAMAGED
