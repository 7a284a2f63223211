"""What every lock backend does, and how a refusal is told."""

from __future__ import annotations

from typing import Protocol

from cockpit.lock.record import Holder, LockKey, LockRecord


class LockError(Exception):
    """The lock store cannot be used (unsafe directory, etcd unreachable): why, in one line."""


class LockHeld(Exception):
    """Another session holds the lock, or it is kept after a rollback.

    Attributes:
        record: The lock's record, as read (None when the holder could not be read).
        message: What to tell the person: who holds it, and what they can do.
    """

    def __init__(self, record: LockRecord | None, message: str) -> None:
        super().__init__(message)
        self.record = record
        self.message = message


class HeldLock(Protocol):
    """One lock this session holds."""

    key: LockKey
    record: LockRecord
    taken_over: LockRecord | None
    """The record of a dead holder this session took the lock over from."""

    def mark_rolled_back(self, at: float, reason: str) -> None:
        """Keep the lock after the session ends, marked as rolled back."""
        ...

    def release(self, by: str, reason: str, wall: float) -> None:
        """Free the lock (the session ended without a rollback)."""
        ...

    def lost(self) -> str | None:
        """Why the lock is no longer held for sure, or None while it is."""
        ...

    def close(self) -> None:
        """Stop holding it (the process ends); the record stays as it is."""
        ...


class LockStore(Protocol):
    """Where locks live: lock files on this host, or etcd."""

    description: str
    """For messages: ``lock files in /run/cockpit`` or ``etcd at http://…``."""

    def acquire(
        self, keys: list[LockKey], holder: Holder, why: str, *, take_over: bool, wall: float
    ) -> list[HeldLock]:
        """Take every key or none.

        Args:
            keys: What to lock.
            holder: This process and its session.
            why: Said to whoever is refused.
            take_over: Take a lock whose holder is gone even when it is not this session's.
            wall: Now.

        Raises:
            LockHeld: a key is held by a live session, kept after a rollback, or held by a
                session that is gone (without ``take_over``).
            LockError: the store cannot be used.
        """
        ...

    def close(self) -> None:
        """Let go of the store's connection (etcd's). Only once nothing taken from it is held:
        held locks renew and release through it. A session refused the lock calls it."""
        ...

    def records(self) -> list[LockRecord]:
        """Every lock's newest record (for listing)."""
        ...

    def running(self, key: LockKey) -> LockRecord | None:
        """The record of a live session that holds ``key`` now, or None.

        Raises:
            LockError: the store cannot be read.
        """
        ...

    def unlock(self, key: LockKey, by: str, reason: str, wall: float) -> LockRecord:
        """Free a lock nobody holds any more (kept after a rollback, or its holder gone);
        return the record it had.

        Raises:
            LockHeld: a live session holds it, or nothing is locked.
            LockError: the store cannot be used.
        """
        ...


def refusal(record: LockRecord, *, alive: bool | None, where: str) -> str:
    """The words that refuse a session because of ``record``."""
    h = record.holder
    session = h.session
    if record.state == "rolled back":
        return (
            f"{record.describe()}. A deploy must not start on top of it: when the service is"
            f" sound again, release it with: cockpit unlock {record.key.service}"
            f" --environment {record.key.environment} --reason TEXT"
        )
    if alive is False:
        return (
            f"{record.key} is held by a session whose cockpit is gone ({h.where} ended;"
            f" {where}): resume it with `cockpit run --resume {session}` (as {h.user}), or take"
            " the lock over with `cockpit run --take-over PROFILE`"
        )
    return (
        f"{record.describe()}. Watch it with `cockpit watch {session}` (as {h.user}), or join"
        f" it with `cockpit attach {_session_id(session)}`"
    )


def _session_id(journal: str) -> str:
    name = journal.rsplit("/", 1)[-1]
    return name.removesuffix(".jsonl")
