"""The ways a journal can go wrong, one exception class per thing a caller does about it."""

from __future__ import annotations

from pathlib import Path


class JournalError(Exception):
    """Base class of every journal error."""


class JournalUnreadable(JournalError):
    """The file cannot be read as a journal: missing, a directory, no permission, not a journal.

    Attributes:
        path: The file that was asked for.
        reason: Why it cannot be read, in words a user can act on.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class JournalDamaged(JournalError):
    """The journal was read but does not verify; nothing is repaired.

    Attributes:
        path: The journal file.
        seq: The first sequence number that cannot be trusted.
        reason: What is wrong with it.
        torn_tail: True when the only damage is a torn last line (a crash mid-write), which
            ``Journal.open`` repairs.
    """

    def __init__(self, path: Path, seq: int, reason: str, *, torn_tail: bool = False) -> None:
        super().__init__(f"{path}: record {seq}: {reason}")
        self.path = path
        self.seq = seq
        self.reason = reason
        self.torn_tail = torn_tail


class JournalLocked(JournalError):
    """Another process has the journal open for writing; two writers would fork the chain."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path}: another process has this journal open for writing")
        self.path = path


class JournalFailed(JournalError):
    """A write or fsync failed: the journal can no longer record, and it will not retry."""
