"""``cockpit report JOURNAL [--out DIR]``: write the evidence files of a session."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cockpit.evidence.writer import write_evidence
from cockpit.files import FileRefused
from cockpit.inert import inert
from cockpit.journal import JournalDamaged, JournalError

EXIT_WRITTEN = 0
EXIT_DAMAGED = 1
EXIT_UNREADABLE = 2


def report_command(args: argparse.Namespace) -> int:
    """Write the evidence: exit 0 written, 1 damaged journal, 2 unreadable; never a traceback."""
    path = Path(args.journal)
    out = Path(args.out) if getattr(args, "out", None) else None
    try:
        written = write_evidence(path, out)
    except JournalDamaged as exc:
        print(
            inert(
                f"damaged: {path}: first bad record {exc.seq}: {exc.reason}."
                " No evidence was written: a report must not rest on a damaged record"
                " (see `cockpit verify`)."
            ),
            file=sys.stderr,
        )
        return EXIT_DAMAGED
    except JournalError as exc:
        print(inert(f"unreadable: {exc}"), file=sys.stderr)
        return EXIT_UNREADABLE
    except FileRefused as exc:  # names the directory it refused: the one given, or a parent
        print(inert(f"cannot write the evidence: {exc}"), file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as exc:
        where = out if out is not None else path.with_suffix("")
        print(
            inert(f"cannot write the evidence to {where}: {exc.strerror or exc}"), file=sys.stderr
        )
        return EXIT_UNREADABLE
    for file in written:
        print(inert(str(file)))
    return EXIT_WRITTEN
