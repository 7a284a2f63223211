"""``cockpit sessions``: the sessions on this machine, newest first, and what to do with each.

After an SSH drop at 3 a.m. the first question is "where is my session, and is it still
running?". Each journal is read (never changed) and folded into its state; a journal that a
live cockpit holds is marked as open, because its writer keeps an exclusive ``flock`` on it.
What is listed never depends on a metric sample, so the batches of samples (nearly all of a
long journal) are only checked in the hash chain, never parsed or folded.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from cockpit.engine import State, apply_record
from cockpit.engine.kinds import Kind
from cockpit.files import FileRefused, os_reason, secure_directory
from cockpit.inert import inert, json_text
from cockpit.journal import JournalDamaged, JournalError, default_sessions_dir, iter_journal

EXIT_LISTED = 0
EXIT_UNREADABLE = 2


@dataclass(frozen=True)
class SessionEntry:
    """One journal, summed up."""

    journal: str
    started: float | None
    deployment: str
    service: str
    environment: str
    phase: str
    """The phase, ``HOLD: <phase>`` while on hold, ``DAMAGED``/``UNREADABLE`` with ``problem``."""
    finished: bool
    open: bool
    """A live cockpit has the journal open for writing."""
    problem: str = ""

    @property
    def resumable(self) -> bool:
        """Unfinished, readable, and no cockpit holds it: ``cockpit run --resume`` picks it up."""
        return not self.finished and not self.open and not self.problem


def held_by_a_cockpit(path: Path) -> bool:
    """Whether another process holds the journal's writer lock (an exclusive ``flock``)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def summarise(path: Path) -> SessionEntry:
    """Read one journal (a live one may end in a half-written record) and sum it up."""
    held = held_by_a_cockpit(path)
    try:
        state = State()
        for record in iter_journal(path, allow_torn_tail=True, skip=frozenset({Kind.SAMPLES})):
            apply_record(state, record)
    except JournalDamaged as exc:
        return _broken(path, held, "DAMAGED", f"record {exc.seq}: {exc.reason}")
    except JournalError as exc:
        return _broken(path, held, "UNREADABLE", str(exc))
    except (ValueError, KeyError, TypeError) as exc:  # a chain that verifies but no session
        return _broken(path, held, "UNREADABLE", f"not a session journal ({exc})")
    if state.profile is None:
        return _broken(path, held, "UNREADABLE", "not a session journal (no session.started)")
    deployment = state.profile.deployment
    phase = str(state.phase)
    if state.hold is not None:
        phase = f"HOLD: {phase}"
    return SessionEntry(
        journal=str(path),
        started=state.started,
        deployment=deployment.name,
        service=deployment.service,
        environment=", ".join(deployment.environments),
        phase=phase,
        finished=state.phase.finished,
        open=held,
    )


def _broken(path: Path, held: bool, phase: str, problem: str) -> SessionEntry:
    return SessionEntry(str(path), None, "?", "?", "?", phase, False, held, problem)


def list_sessions(directory: Path) -> list[SessionEntry]:
    """Every ``*.jsonl`` journal in ``directory``, newest first (by name: it starts with UTC).

    Raises:
        FileRefused: the directory is not safe (another user's, writable by others, a
            symbolic link): a session planted there must not be offered for ``--resume``.
        OSError: the directory cannot be read.
    """
    secure_directory(directory, create=False)
    return [summarise(path) for path in sorted(directory.glob("*.jsonl"), reverse=True)]


def _when(wall: float | None) -> str:
    return "?" if wall is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(wall))


def _table(entries: list[SessionEntry]) -> list[str]:
    rows = [["STARTED (UTC)", "DEPLOYMENT", "SERVICE", "ENVIRONMENT", "PHASE", "COCKPIT"]]
    for entry in entries:
        cockpit = "open" if entry.open else ("ended" if entry.finished else "none")
        # Names come from profiles and journals: inert before their widths are measured.
        cells = (entry.deployment, entry.service, entry.environment, entry.phase)
        rows.append([_when(entry.started), *(inert(c) for c in cells), cockpit])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index:
            entry = entries[index - 1]
            journal = inert(entry.journal)
            lines.append(f"  {journal}")
            if entry.problem:
                lines.append(f"  ! {inert(entry.problem)} (see `cockpit verify {journal}`)")
            elif entry.resumable:
                lines.append(f"  → no cockpit has it: cockpit run --resume {journal}")
    return lines


def sessions_command(args: argparse.Namespace) -> int:
    """List sessions: exit 0 (also when there are none), 2 when the directory is unreadable."""
    if getattr(args, "attachable", False):
        from cockpit.attach.listing import attachable_command

        return attachable_command(args)
    directory = Path(args.sessions_dir) if args.sessions_dir else default_sessions_dir()
    try:
        exists = os.path.lexists(directory)
        entries = list_sessions(directory) if exists else []
    except FileRefused as exc:
        print(inert(f"error: {exc}"), file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as exc:
        print(inert(f"error: cannot read {directory}: {os_reason(exc)}"), file=sys.stderr)
        return EXIT_UNREADABLE
    from cockpit.lock import open_store
    from cockpit.lock.listing import lock_lines, locks_by_session
    from cockpit.profile.models import Lock

    store = open_store(Lock(), directory)
    if args.json:
        held = locks_by_session(store)
        doc = [
            asdict(entry)
            | {
                "resumable": entry.resumable,
                "locks": held.get(os.path.realpath(entry.journal), []),
            }
            for entry in entries
        ]
        print(json_text(doc, indent=2))
        return EXIT_LISTED
    locks = lock_lines(store)
    if not entries:
        print("\n".join([inert(f"no sessions in {directory}"), *locks]))
        return EXIT_LISTED
    with contextlib.suppress(BrokenPipeError):  # `cockpit sessions | head`
        print("\n".join([*_table(entries), *(["", *locks] if locks else [])]))
    return EXIT_LISTED
