"""The deploy lock on this host: a lock file held with ``flock`` while a session runs, and a
record beside it that says who, since when and why, and outlives the session.

In a directory shared by several users (the host's cockpit directory, root's, mode 1777)
nobody can write another user's files, so each user writes a record file of their own,
``<service>@<environment>.<uid>.json``, and the newest record is the lock's state. The
``flock`` on ``<service>@<environment>.lock`` is held by the live session: a holder that
died releases it with its last file descriptor, and its pid and start time say so too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from cockpit.files import FileRefused, fsync_directory, secure_directory, shared_directory
from cockpit.lock.process import is_alive
from cockpit.lock.record import (
    HELD,
    RECORD_LIMIT,
    RELEASED,
    ROLLED_BACK,
    Holder,
    LockKey,
    LockRecord,
    LockRecordError,
    decode_record,
)
from cockpit.lock.store import HeldLock, LockError, LockHeld, refusal

SHARED_MODE = 0o644
"""Lock and record files: readable by every user of the host, so a refusal can say who."""
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY


class FileLocks:
    """Lock files in one directory.

    Args:
        directory: Where the lock files live.
        shared: The directory is shared by several users (it must exist, owned by root or
            this user, sticky if others may write); otherwise it is this user's own, made
            0700 when missing.
    """

    def __init__(self, directory: Path, *, shared: bool) -> None:
        self.directory = directory
        self.shared = shared
        self.description = f"lock files in {directory}"
        self.problems: list[str] = []
        """Files that are not lock records, found by the last read (for listing)."""

    def close(self) -> None:
        """Nothing to let go of: each lock file is opened and closed where it is used."""

    def _checked(self, *, create: bool = True) -> None:
        try:
            if self.shared:
                shared_directory(self.directory)
            else:
                secure_directory(self.directory, create=create)
        except FileRefused as exc:
            raise LockError(f"lock directory {exc}") from None

    # ------------------------------------------------------------ reading

    def read(self, key: LockKey) -> LockRecord | None:
        """The newest valid record of ``key`` (None: never locked)."""
        return self._newest(key.name)

    def _newest(self, key_name: str) -> LockRecord | None:
        newest: LockRecord | None = None
        prefix = f"{key_name}."
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LockError(f"cannot read the lock directory {self.directory}: {exc}") from None
        for name in names:
            if not (name.startswith(prefix) and name.endswith(".json")):
                continue
            uid_text = name[len(prefix) : -len(".json")]
            if not uid_text.isdigit():
                continue
            record = self._read_file(self.directory / name, int(uid_text))
            if record is None or record.key.name != key_name:
                continue
            if newest is None or (record.written, record.owner_uid or 0) > (
                newest.written,
                newest.owner_uid or 0,
            ):
                newest = record
        return newest

    def _read_file(self, path: Path, uid: int) -> LockRecord | None:
        try:
            fd = os.open(path, _READ)
        except OSError as exc:
            self.problems.append(f"{path}: {exc.strerror or exc}")
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != uid:
                self.problems.append(f"{path}: not a regular file of uid {uid}; ignored")
                return None
            data = os.read(fd, RECORD_LIMIT + 1)
        except OSError as exc:
            self.problems.append(f"{path}: {exc.strerror or exc}")
            return None
        finally:
            os.close(fd)
        try:
            record = decode_record(data, where=str(path))
        except LockRecordError as exc:
            self.problems.append(str(exc))
            return None
        return _owned(record, uid)

    def records(self) -> list[LockRecord]:
        """The newest record of every lock in the directory."""
        self.problems = []
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise LockError(f"cannot read the lock directory {self.directory}: {exc}") from None
        found: dict[str, LockRecord] = {}
        for name in names:
            if name.endswith(".json") and "@" in name and not name.startswith("."):
                key_name = name[: name.rfind(".", 0, -len(".json"))]
                if key_name not in found:
                    record = self._newest(key_name)
                    if record is not None:
                        found[key_name] = record
        return [found[k] for k in sorted(found)]

    # ------------------------------------------------------------ taking

    def acquire(
        self, keys: list[LockKey], holder: Holder, why: str, *, take_over: bool, wall: float
    ) -> list[HeldLock]:
        """Take every key or none (see ``LockStore.acquire``)."""
        self._checked()
        taken: list[tuple[LockKey, int, LockRecord | None]] = []
        try:
            for key in sorted(set(keys)):
                fd = self._open_lock_file(key)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    record = self.read(key)
                    if record is None:
                        raise LockHeld(
                            None, f"{key} is locked by a process that wrote no record yet"
                        ) from None
                    raise LockHeld(record, refusal(record, alive=True, where="")) from None
                except OSError as exc:
                    os.close(fd)
                    raise LockError(
                        f"cannot lock {self.directory}/{key.name}.lock: {exc}"
                    ) from None
                taken.append((key, fd, None))
                previous = self.read(key)
                if previous is not None and previous.locked:
                    self._may_take(previous, holder, take_over=take_over)
                    taken[-1] = (key, fd, previous)
            held: list[HeldLock] = []
            for key, fd, previous in taken:
                record = LockRecord(
                    key=key,
                    state=HELD,
                    holder=holder,
                    since=wall,
                    why=why,
                    written=_after(wall, self.read(key)),
                )
                self._write(record)
                held.append(FileHeldLock(self, key, fd, record, previous))
            return held
        except BaseException:
            for _, fd, _ in taken:
                with contextlib.suppress(OSError):
                    os.close(fd)
            raise

    def _may_take(self, previous: LockRecord, holder: Holder, *, take_over: bool) -> None:
        """The flock is free, yet the record says locked: kept after a rollback, or its
        holder is gone. Raise unless this session may take it."""
        if previous.state == ROLLED_BACK:
            raise LockHeld(previous, refusal(previous, alive=None, where=""))
        alive = is_alive(previous.holder)
        if alive and previous.holder.pid == os.getpid():
            alive = False  # this process closed that session: nothing holds its lock now
        if alive:
            # Its process runs but holds no flock (another lock directory, an old cockpit):
            # never take a lock from a live process.
            raise LockHeld(previous, refusal(previous, alive=True, where=""))
        same_session = previous.holder.session == holder.session
        if not (take_over or same_session):
            where = "on another host" if alive is None else "its process is gone"
            raise LockHeld(previous, refusal(previous, alive=False, where=where))

    def _open_lock_file(self, key: LockKey) -> int:
        path = self.directory / f"{key.name}.lock"
        try:
            fd = os.open(path, _READ)
        except FileNotFoundError:
            try:
                fd = os.open(path, _READ | os.O_CREAT | os.O_EXCL, SHARED_MODE)
                os.fchmod(fd, SHARED_MODE)  # whatever the umask: others must lock it too
            except FileExistsError:
                fd = os.open(path, _READ)
            except OSError as exc:
                raise LockError(f"cannot create {path}: {exc.strerror or exc}") from None
        except OSError as exc:
            raise LockError(f"cannot open {path}: {exc.strerror or exc}") from None
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            os.close(fd)
            raise LockError(f"{path} is not a regular file; remove it")
        return fd

    def _write(self, record: LockRecord) -> None:
        """Replace this user's record of the key atomically (readable by every user)."""
        uid = os.geteuid()
        target = self.directory / f"{record.key.name}.{uid}.json"
        tmp = self.directory / f".{record.key.name}.{uid}.{secrets.token_hex(4)}.tmp"
        data = record.encode()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC)
            try:
                os.fchmod(fd, SHARED_MODE)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
            fsync_directory(self.directory)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise LockError(
                f"cannot write the lock record {target}: {exc.strerror or exc}"
            ) from None

    # ------------------------------------------------------------ releasing

    def running(self, key: LockKey) -> LockRecord | None:
        """The record of a live session holding ``key`` (its flock, or its process)."""
        record = self.read(key)
        if record is None or record.state != HELD:
            return None
        fd = self._open_lock_file(key)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return record
        finally:
            os.close(fd)
        return record if is_alive(record.holder) is not False else None

    def unlock(self, key: LockKey, by: str, reason: str, wall: float) -> LockRecord:
        """Free a lock whose session is over (see ``LockStore.unlock``)."""
        self._checked(create=False)
        record = self.read(key)
        if record is None or not record.locked:
            raise LockHeld(record, f"{key} is not locked")
        fd = self._open_lock_file(key)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockHeld(
                    record,
                    f"{record.describe()}: its session is running and releases the lock itself"
                    " when it ends",
                ) from None
            if record.state == HELD and is_alive(record.holder):
                raise LockHeld(record, f"{record.describe()}: its cockpit still runs")
            self._write(
                LockRecord(
                    key=record.key,
                    state=RELEASED,
                    holder=record.holder,
                    since=record.since,
                    why=record.why,
                    written=_after(wall, record),
                    rolled_back_at=record.rolled_back_at,
                    reason=reason,
                    by=by,
                )
            )
        finally:
            os.close(fd)
        return record


class FileHeldLock:
    """A lock file this process holds (its ``flock``) and the record it wrote."""

    def __init__(
        self,
        store: FileLocks,
        key: LockKey,
        fd: int,
        record: LockRecord,
        taken_over: LockRecord | None,
    ) -> None:
        self.store = store
        self.key = key
        self.record = record
        self.taken_over = taken_over
        self._fd: int | None = fd

    def _rewrite(self, wall: float, **changes: Any) -> None:
        written = _after(wall, self.store.read(self.key))
        record = dataclasses.replace(self.record, written=written, **changes)
        self.store._write(record)
        self.record = record

    def mark_rolled_back(self, at: float, reason: str) -> None:
        """Keep the lock after the session, marked ``rolled back at …, reason …``."""
        self._rewrite(at, state=ROLLED_BACK, rolled_back_at=at, reason=reason)

    def release(self, by: str, reason: str, wall: float) -> None:
        """Free the lock: the session ended without a rollback."""
        self._rewrite(wall, state=RELEASED, reason=reason, by=by)

    def lost(self) -> str | None:
        """A flock is held until this process closes it: never lost."""
        return None

    def close(self) -> None:
        """Let go of the flock (the record stays)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _after(wall: float, newest: LockRecord | None) -> float:
    """A write time after the newest record's, so the newest record is always the last
    written (even if a record claims a time in the future)."""
    if newest is None:
        return wall
    return max(wall, newest.written + 0.001)


def _owned(record: LockRecord, uid: int) -> LockRecord:
    return dataclasses.replace(record, owner_uid=uid)
