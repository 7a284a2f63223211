"""``cockpit unlock SERVICE --reason TEXT``: release a lock kept after a rollback.

The release is recorded in the journal of the session that holds the lock, before the lock
is freed: the record says who released it and why. A lock whose session still runs is not
released here: that session frees it itself when it ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sys
import time
from pathlib import Path

from cockpit.engine.kinds import Kind
from cockpit.files import FileRefused, check_regular_file
from cockpit.inert import inert
from cockpit.journal import Actor, Journal, JournalError, Record, default_sessions_dir
from cockpit.lock import LockError, LockHeld, LockRecord, LockStore, open_store
from cockpit.lock.process import user_name
from cockpit.profile import ProfileError, load_profile, resolve_profile
from cockpit.profile.models import Lock

EXIT_RELEASED = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2
REASON_LIMIT = 500


def _say(text: str) -> None:
    print(inert(text), file=sys.stderr)


def store_for(args: argparse.Namespace) -> LockStore:
    """The lock store the arguments name: a profile's ``[lock]``, or the default one.

    Raises:
        ProfileError: the profile is invalid.
        LockError: the store cannot be used.
    """
    sessions = Path(args.sessions_dir) if args.sessions_dir else default_sessions_dir()
    if args.profile:
        profile = resolve_profile(load_profile(args.profile), os.environ).profile
        return open_store(profile.lock, sessions)
    return open_store(Lock(), sessions)


def unlock_command(args: argparse.Namespace) -> int:
    """Release the locks of a service: 0 released, 1 refused, 2 bad input."""
    reason = " ".join(str(args.reason).split())
    if not reason:
        _say("error: --reason is empty; say why the service may be deployed again")
        return EXIT_BAD_INPUT
    if len(reason) > REASON_LIMIT:
        _say(f"error: --reason has {len(reason)} characters; at most {REASON_LIMIT}")
        return EXIT_BAD_INPUT
    try:
        store = store_for(args)
        records = [
            r
            for r in store.records()
            if r.key.service == args.service
            and (args.environment is None or r.key.environment == args.environment)
        ]
    except ProfileError as exc:
        for problem in exc.problems:
            _say(f"error: {problem}")
        return EXIT_BAD_INPUT
    except LockError as exc:
        _say(f"error: {exc}")
        return EXIT_BAD_INPUT
    locked = [r for r in records if r.locked]
    if not locked:
        where = f" in {args.environment}" if args.environment else ""
        _say(f"nothing to release: {args.service}{where} is not locked ({store.description})")
        return EXIT_REFUSED
    by = user_name(os.geteuid())
    status = EXIT_RELEASED
    for record in locked:
        try:
            _release(store, record, by, reason)
        except LockHeld as exc:
            _say(f"refused: {exc.message}")
            status = max(status, EXIT_REFUSED)
        except (LockError, JournalError, OSError, ValueError) as exc:
            _say(f"error: {record.key}: {exc}")
            status = EXIT_BAD_INPUT
        else:
            print(inert(f"released {record.key}: {reason} (recorded in {record.holder.session})"))
    return status


def _release(store: LockStore, record: LockRecord, by: str, reason: str) -> None:
    """Record the release in the session's journal, then free the lock.

    Raises:
        LockHeld: the session still runs.
        JournalError: the journal cannot be written (another user's, damaged, open).
        LockError: the store cannot be written.
    """
    journal_path = Path(record.holder.session)
    running = store.running(record.key)
    if running is not None:
        raise LockHeld(running, f"{running.describe()}: its session may still run")
    if record.holder.host != socket.gethostname():
        raise JournalError(
            f"the release is recorded in the session's journal, on {record.holder.host}:"
            " run cockpit unlock there"
        )
    try:
        check_regular_file(journal_path, what="journal file", follow_symlinks=False)
    except FileRefused as exc:
        raise JournalError(
            f"the release must be recorded in the session's journal, and {exc}"
        ) from None
    wall = time.time()
    seen = _Seen(str(record.key))
    with contextlib.closing(Journal.open(journal_path, on_record=seen.add)) as journal:
        if not seen.took:
            raise JournalError(f"{journal_path}: this session never took the lock on {record.key}")
        t0 = seen.t0
        journal.append(
            Kind.LOCK_RELEASED,
            {"by": by, "reason": reason, "locks": [str(record.key)]},
            actor=Actor("crew", by, _tty()),
            wall=wall,
            t_plus=None if t0 is None else wall - t0,
        )
    store.unlock(record.key, by, reason, wall)


class _Seen:
    """What a release needs of the session's journal, noted as the journal is read (it
    keeps no records): whether it took the lock, and its T0."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.took = False
        self.t0: float | None = None

    def add(self, record: Record) -> None:
        if record.kind == Kind.LOCK_TAKEN and self.key in record.body.get("locks", []):
            self.took = True
        elif record.kind == Kind.EXECUTION_STARTED and self.t0 is None:
            self.t0 = record.wall


def _tty() -> str | None:
    with contextlib.suppress(OSError):
        return os.ttyname(sys.stdin.fileno())
    return None
