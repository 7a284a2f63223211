"""The one writer of a session journal: append-only, one write and one fsync per record."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from cockpit.files import FileRefused, describe_kind, open_new, open_regular_file
from cockpit.journal.anchors import anchors_path_for, format_anchor
from cockpit.journal.errors import (
    JournalDamaged,
    JournalFailed,
    JournalLocked,
    JournalUnreadable,
)
from cockpit.journal.lines import CHUNK
from cockpit.journal.reader import Scan, scan_journal
from cockpit.journal.records import Actor, Record, encode_record

Fsync = Callable[[int], None]

_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC
_FILE_MODE = 0o600


def fsync_directory(directory: Path, fsync: Fsync = os.fsync) -> None:
    """Make a file's creation, rename or removal in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fsync(fd)
    finally:
        os.close(fd)


def _sync(fsync: Fsync, target: int | Path, what: str) -> None:
    """Fsync a file descriptor or a directory; a failure is final, never retried."""
    try:
        if isinstance(target, Path):
            fsync_directory(target, fsync)
        else:
            fsync(target)
    except OSError as exc:
        raise JournalFailed(f"fsync failed while {what}: {exc}") from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _open_append(path: Path) -> tuple[int, bool]:
    """Open for appending, creating the file if missing; returns the fd and whether it was made.

    Never through a symbolic link (``O_NOFOLLOW``): a link planted at a journal's path would
    send the records, and the ownership of their target, to whoever planted it.
    """
    try:
        return open_new(path, flags=os.O_APPEND, mode=_FILE_MODE), True
    except FileExistsError:
        pass
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise JournalUnreadable(path, "is a symbolic link; give the journal file itself")
    if not stat.S_ISREG(mode):  # O_WRONLY on a FIFO would block
        raise JournalUnreadable(
            path, f"is {describe_kind(mode)}, not a journal file (a regular file)"
        )
    return os.open(path, _APPEND_FLAGS | os.O_NOFOLLOW | os.O_NONBLOCK), False


def _has_bytes(path: Path) -> bool:
    """Whether ``path`` is a file with something in it (never blocks on a FIFO)."""
    try:
        fd = open_regular_file(path, what="anchor file")
    except FileRefused as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise JournalUnreadable(path, exc.reason) from None
    try:
        return os.fstat(fd).st_size > 0
    finally:
        os.close(fd)


def _copy_file(path: Path, out_fd: int) -> None:
    """Copy a whole file to ``out_fd`` a chunk at a time."""
    fd = open_regular_file(path, what="journal file")
    try:
        while chunk := os.read(fd, CHUNK):
            _write_all(out_fd, chunk)
    finally:
        os.close(fd)


class Journal:
    """An open session journal. Not thread-safe: one caller appends, in order.

    It keeps what appending needs (the last sequence number and hash), never the records:
    a session's memory must not grow with its length (a parsed copy of every record cost
    67 MB an hour at 16 metrics, and full collections of that heap stalled the event loop
    for 148 ms after 6 hours, measured). Readers read the file (``cockpit.journal.reader``).

    Attributes:
        path: The journal file.
        last_seq: The sequence number of the last record (0 for an empty journal).
        last_hash: The hash of the last record (``GENESIS_PREV`` for an empty journal).
        failed: Why the journal can no longer record, or None while it can.
        repaired_from: The ``.broken`` copy if a torn last line was repaired on open, else None.
    """

    def __init__(
        self,
        path: Path,
        *,
        last_seq: int,
        last_hash: str,
        fd: int,
        anchors_fd: int,
        fsync: Fsync,
        repaired_from: Path | None,
    ) -> None:
        """Use ``Journal.open``."""
        self.path = path
        self.last_seq = last_seq
        self.last_hash = last_hash
        self.failed: str | None = None
        self.repaired_from = repaired_from
        self._fd: int | None = fd
        self._anchors_fd = anchors_fd
        self._fsync = fsync

    @classmethod
    def view(cls, path: Path, last_seq: int, last_hash: str) -> Journal:
        """A read-only view of a journal read up to ``last_seq`` (for watching): it holds no
        file open, and :meth:`append` refuses."""
        journal = cls(
            path,
            last_seq=last_seq,
            last_hash=last_hash,
            fd=-1,
            anchors_fd=-1,
            fsync=os.fsync,
            repaired_from=None,
        )
        journal._fd = None
        journal.failed = "read-only view"
        return journal

    @property
    def anchors_path(self) -> Path:
        """The anchor file beside the journal (see ``cockpit.journal.anchors``)."""
        return anchors_path_for(self.path)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        fsync: Fsync = os.fsync,
        on_record: Callable[[Record], object] | None = None,
    ) -> Journal:
        """Open a journal for appending, creating it if missing.

        An existing journal is verified as it is read. A torn last line is repaired: the
        original is kept as ``<name>.broken`` and the file is cut back to the last whole record.

        Args:
            path: The journal file.
            fsync: Called for every fsync (tests inject failures).
            on_record: Given each verified record as it is read (a resume folds them). When
                this raises, the records given so far are not to be used.

        Raises:
            JournalDamaged: damage other than a torn last line; nothing is changed.
            JournalUnreadable: the path is a directory, not a journal, or not accessible.
            JournalLocked: another process has it open for writing.
            JournalFailed: an fsync failed while creating or repairing it.
        """
        path = Path(path)
        try:
            fd, created = _open_append(path)
        except IsADirectoryError:
            raise JournalUnreadable(path, "is a directory, not a journal file") from None
        except PermissionError:
            raise JournalUnreadable(path, "permission denied") from None
        except OSError as exc:
            raise JournalUnreadable(path, exc.strerror or str(exc)) from None
        anchors_fd: int | None = None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise JournalLocked(path) from None
            anchors_fd, scan, repaired_from = cls._prepare(path, fd, created, fsync, on_record)
            return cls(
                path,
                last_seq=scan.count,
                last_hash=scan.last_hash,
                fd=fd,
                anchors_fd=anchors_fd,
                fsync=fsync,
                repaired_from=repaired_from,
            )
        except BaseException:
            os.close(fd)
            if anchors_fd is not None:
                os.close(anchors_fd)
            raise

    @classmethod
    def _prepare(
        cls,
        path: Path,
        fd: int,
        created: bool,
        fsync: Fsync,
        on_record: Callable[[Record], object] | None,
    ) -> tuple[int, Scan, Path | None]:
        anchors_path = anchors_path_for(path)
        if created:
            if _has_bytes(anchors_path):
                path.unlink()
                raise JournalUnreadable(
                    path,
                    f"missing, but its anchor file {anchors_path.name} vouches for records:"
                    " was the journal deleted? Move the anchor file away to start afresh",
                )
            anchors_fd, _ = cls._open_anchors(anchors_path)
            try:
                _sync(fsync, path.parent, "creating the journal")
            except BaseException:
                os.close(anchors_fd)
                raise
            return anchors_fd, Scan.empty(), None

        scan = scan_journal(path, on_record, unanchored=True)
        if scan.first_bad_seq is not None and not scan.torn_tail:
            assert scan.reason is not None
            raise JournalDamaged(path, scan.first_bad_seq, scan.reason)
        repaired_from = None
        if scan.torn_tail:
            repaired_from = cls._repair_torn_tail(path, fd, scan.good_length, fsync)
        anchors_fd, anchors_created = cls._open_anchors(anchors_path)
        try:
            if anchors_created:
                _sync(fsync, path.parent, "creating the anchor file")
            cls._catch_up_anchors(anchors_fd, scan, fsync)
        except BaseException:
            os.close(anchors_fd)
            raise
        return anchors_fd, scan, repaired_from

    @staticmethod
    def _open_anchors(anchors_path: Path) -> tuple[int, bool]:
        try:
            return _open_append(anchors_path)
        except OSError as exc:
            raise JournalUnreadable(anchors_path, exc.strerror or str(exc)) from None

    @staticmethod
    def _repair_torn_tail(path: Path, fd: int, good_length: int, fsync: Fsync) -> Path:
        broken = path.with_name(path.name + ".broken")
        number = 1
        while True:
            try:
                broken_fd = open_new(broken, mode=_FILE_MODE)
                break
            except FileExistsError:  # keep the evidence of an earlier repair
                broken = path.with_name(f"{path.name}.broken.{number}")
                number += 1
        try:
            _copy_file(path, broken_fd)
            _sync(fsync, broken_fd, "saving the torn journal as .broken")
        finally:
            os.close(broken_fd)
        # The copy must be durable before the original is cut.
        _sync(fsync, path.parent, "saving the torn journal as .broken")
        os.ftruncate(fd, good_length)
        _sync(fsync, fd, "cutting the torn last line")
        return broken

    @staticmethod
    def _catch_up_anchors(anchors_fd: int, scan: Scan, fsync: Fsync) -> None:
        """Drop a torn anchor line and anchor the records a crash left without one."""
        cut = scan.anchors_length < os.fstat(anchors_fd).st_size
        if cut:
            os.ftruncate(anchors_fd, scan.anchors_length)
        missing = scan.unanchored
        if missing:
            _write_all(anchors_fd, missing)
        if missing or cut:
            _sync(fsync, anchors_fd, "anchoring the records")

    def append(
        self,
        kind: str,
        body: Mapping[str, Any],
        *,
        actor: Actor,
        wall: float,
        t_plus: float | None = None,
    ) -> Record:
        """Append one record durably: it is on disk when this returns.

        Raises:
            ValueError: the record cannot be encoded (NaN, infinity, bad text); nothing written.
            TypeError: the body holds something JSON cannot represent; nothing written.
            JournalFailed: this or an earlier write or fsync failed. Never retried: the kernel
                may have dropped the data and reports that once.
        """
        if self._fd is None:
            raise ValueError(f"{self.path}: journal is closed")
        if self.failed is not None:
            raise JournalFailed(f"{self.path}: journal failed earlier: {self.failed}")
        seq = self.last_seq + 1
        record, line = encode_record(
            seq=seq,
            wall=wall,
            t_plus=t_plus,
            actor=actor,
            kind=kind,
            body=body,
            prev=self.last_hash,
        )
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(f"short write: {written} of {len(line)} bytes")
            self._fsync(self._fd)
        except BaseException as exc:
            self.failed = f"writing record {seq} failed: {exc}; it may or may not be on disk"
            if isinstance(exc, OSError):
                raise JournalFailed(f"{self.path}: {self.failed}") from exc
            raise
        self.last_seq = seq
        self.last_hash = record.hash
        try:
            _write_all(self._anchors_fd, format_anchor(seq, record.hash))
        except OSError as exc:
            # The record is durable, so report it; the next append refuses, because the
            # journal can no longer vouch for its own history.
            self.failed = f"anchoring record {seq} failed: {exc}"
        return record

    def close(self) -> None:
        """Make the anchors durable and close the files; a second close does nothing."""
        if self._fd is None:
            return
        try:
            if self.failed is None:
                try:
                    self._fsync(self._anchors_fd)
                except OSError as exc:
                    self.failed = f"fsync of the anchor file failed on close: {exc}"
        finally:
            os.close(self._anchors_fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        """Use the journal in a ``with`` block; it is closed at the end."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the journal."""
        self.close()
