"""The files the cockpit reads and writes, checked so that nobody else can redirect them.

The rules (RELIABILITY.md, "Files it writes" and "Bad input"):

* A directory the cockpit writes into is its user's: a real directory (not a symbolic link),
  owned by the user, writable by nobody else, as ssh insists for ``~/.ssh``. Its ancestors
  must not let anyone else swap it: each is owned by root or the user, and one writable by
  others needs the sticky bit (as ``/tmp`` has). Otherwise another user could plant a
  symbolic link where a file is about to be written, and the cockpit would overwrite its
  target.
* New files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW``, mode 0600; directories 0700.
* A file is read only if it is a regular file under a size cap, opened without blocking: a
  FIFO or ``/dev/zero`` given as a profile is an error, not a hang or a memory flood.

This module needs only the standard library (the journal and the runner import it).
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import secrets
import stat
from pathlib import Path

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700

_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


class FileRefused(OSError):
    """A path the cockpit will not read or write, and why, in one line.

    An ``OSError`` (``errno`` says which kind) so that every caller that already reports a
    failed read or write reports this too. ``strerror`` is the reason alone; ``str()`` names
    the path first.

    Attributes:
        path: The path as it was given.
        reason: Why, in words a user can act on.
    """

    def __init__(self, path: Path | str, reason: str, code: int = errno.EPERM) -> None:
        super().__init__(code, reason)
        self.path = str(path)
        self.reason = reason

    def __str__(self) -> str:
        return f"{show(self.path)}: {self.reason}"


def show(path: Path | str) -> str:
    """A path for a message: an empty one says so instead of vanishing."""
    return str(path) if str(path) else "(an empty path)"


def describe_kind(mode: int) -> str:
    """What kind of file a mode is, for a message."""
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISLNK, "a symbolic link"),
    )
    for test, name in kinds:
        if test(mode):
            return name
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def os_reason(exc: OSError) -> str:
    """An operating-system error in the words of this module's messages."""
    reasons = {
        errno.ENOENT: "no such file or directory",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ELOOP: "too many levels of symbolic links (a loop)",
        errno.ENAMETOOLONG: "the name is too long",
        errno.ENOTDIR: "a part of the path is not a directory",
        errno.EISDIR: "is a directory",
    }
    return reasons.get(exc.errno or 0, (exc.strerror or str(exc)).lower())


def _user(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


# ---------------------------------------------------------------- reading


def open_regular_file(path: Path | str, *, what: str = "file") -> int:
    """Open a regular file for reading; returns the descriptor.

    Opened without blocking and checked with ``fstat`` on the open descriptor, so a FIFO, a
    device or a directory is refused before a byte is read.

    Raises:
        FileRefused: missing, not a regular file, or not readable; ``errno`` is ``ENOENT``
            for a missing file.
    """
    try:
        fd = os.open(path, _READ)
    except OSError as exc:
        raise FileRefused(path, os_reason(exc), exc.errno or errno.EIO) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(path, f"is {describe_kind(mode)}, not a {what} (a regular file)")
    except FileRefused:
        os.close(fd)
        raise
    except OSError as exc:
        os.close(fd)
        raise FileRefused(path, os_reason(exc), exc.errno or errno.EIO) from None
    return fd


def read_regular_file(path: Path | str, limit: int, *, what: str = "file") -> bytes:
    """Read a whole regular file of at most ``limit`` bytes.

    Opened without blocking and checked with ``fstat`` on the open descriptor, so a FIFO, a
    device or a directory is refused before a byte is read; no more than ``limit`` bytes are
    ever read, even from a file that keeps growing.

    Args:
        path: The file (symbolic links are followed: reading through one redirects nothing).
        limit: The largest size accepted, in bytes.
        what: What the file should be, for the message (``"profile"``, ``"journal"``).

    Raises:
        FileRefused: missing, not a regular file, too large, or not readable; ``errno`` is
            ``ENOENT`` for a missing file.
    """
    fd = open_regular_file(path, what=what)
    try:
        info = os.fstat(fd)
        if info.st_size > limit:
            raise FileRefused(
                path,
                f"is {info.st_size} bytes, more than a {what} may be ({limit} bytes)",
                errno.EFBIG,
            )
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise FileRefused(
                path, f"grew past {limit} bytes, more than a {what} may be", errno.EFBIG
            )
        return b"".join(chunks)
    except FileRefused:
        raise
    except OSError as exc:
        raise FileRefused(path, os_reason(exc), exc.errno or errno.EIO) from None
    finally:
        os.close(fd)


def check_regular_file(
    path: Path | str, *, what: str = "file", follow_symlinks: bool = True
) -> None:
    """Refuse a path that is not an existing regular file.

    Raises:
        FileRefused: missing, a directory, a FIFO, a device, a symbolic-link loop, or a
            symbolic link at all unless ``follow_symlinks``.
    """
    try:
        mode = os.stat(path, follow_symlinks=follow_symlinks).st_mode
    except OSError as exc:
        raise FileRefused(path, os_reason(exc), exc.errno or errno.EIO) from None
    if not stat.S_ISREG(mode):
        raise FileRefused(path, f"is {describe_kind(mode)}, not a {what} (a regular file)")


# ---------------------------------------------------------------- directories


def secure_directory(
    path: Path | str, *, create: bool = True, missing_ok: bool = False, mode: int = DIRECTORY_MODE
) -> None:
    """Make sure nobody but this user can plant or replace anything in a directory.

    Refused: a symbolic link, something that is not a directory, a directory owned by
    another user or writable by group or others, and an ancestor another user could use to
    swap it (owned by someone other than root or this user, or writable by others without the
    sticky bit). Missing directories are created with mode 0700 when ``create`` is set; with
    ``missing_ok`` instead, a missing one is left for later, once its parents are checked.
    ``mode`` is the mode the last directory is created with (0711 lets the crew reach a
    socket inside it); it may not let anyone else write.

    Raises:
        FileRefused: the directory (or an ancestor) is unsafe, missing (without ``create``),
            or cannot be created; the message names it and the fix.
    """
    given = str(path)
    if not given:
        raise FileRefused(given, "is not a directory name", errno.ENOENT)
    absolute = Path(os.path.abspath(given))
    try:
        info: os.stat_result | None = os.lstat(absolute)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise FileRefused(given, os_reason(exc), exc.errno or errno.EIO) from None
    _check_ancestors(given, absolute.parent)
    if info is None:
        if missing_ok:
            return
        if not create:
            raise FileRefused(given, "no such directory", errno.ENOENT)
        if mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise ValueError(f"mode {mode:04o} lets others write")
        _make_directories(given, absolute, mode)
        info = os.lstat(absolute)
    _check_own_directory(given, info)


def shared_directory(path: Path | str) -> None:
    """Make sure a directory several users share cannot be used against them.

    For the host's cockpit directory, where each crew member keeps a lock record or a
    directory of their own: a real directory (not a symbolic link), owned by root or this
    user, and, when others may write to it, with the sticky bit (as ``/tmp`` has), so that
    nobody can remove or replace what another user made there. Its ancestors are checked as
    :func:`secure_directory` checks them. Never created here: root sets it up once.

    Raises:
        FileRefused: missing, or unsafe; the message names it and the fix.
    """
    given = str(path)
    if not given:
        raise FileRefused(given, "is not a directory name", errno.ENOENT)
    absolute = Path(os.path.abspath(given))
    try:
        info = os.lstat(absolute)
    except OSError as exc:
        raise FileRefused(given, os_reason(exc), exc.errno or errno.EIO) from None
    _check_ancestors(given, absolute.parent)
    if stat.S_ISLNK(info.st_mode):
        raise FileRefused(
            given,
            "is a symbolic link; give the real directory (whoever controls a link"
            " can redirect what is made there)",
        )
    if not stat.S_ISDIR(info.st_mode):
        raise FileRefused(given, f"is {describe_kind(info.st_mode)}, not a directory")
    uid = os.geteuid()
    if info.st_uid not in (0, uid):
        raise FileRefused(
            given,
            f"is owned by {_user(info.st_uid)}, who could remove or replace what others make"
            f" there; root should own it: install -d -m 1777 {given}",
        )
    others_write = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if others_write and not info.st_mode & stat.S_ISVTX:
        raise FileRefused(
            given,
            f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o}) without"
            f" the sticky bit, so anyone could replace what another user made there; run"
            f" chmod +t {given}",
        )


def _check_own_directory(given: str, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise FileRefused(
            given,
            "is a symbolic link; give the real directory, owned by you with mode 0700"
            " (a link lets whoever controls it redirect the files written there)",
        )
    if not stat.S_ISDIR(info.st_mode):
        raise FileRefused(given, f"is {describe_kind(info.st_mode)}, not a directory")
    uid = os.geteuid()
    if info.st_uid != uid:
        raise FileRefused(
            given,
            f"is owned by {_user(info.st_uid)}, not by you ({_user(uid)}); another user could"
            " redirect the files written there. Use a directory of your own (mode 0700)",
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise FileRefused(
            given,
            f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o}); another"
            f" user could plant files there. Run: chmod 700 {given}",
        )


def _check_ancestors(given: str, parent: Path) -> None:
    """Every directory above ``given`` must be unswappable: those on the path as written
    (where a symbolic link must belong to root or this user, who alone could re-point it)
    and those it really leads through."""
    uid = os.geteuid()
    try:
        real = Path(os.path.realpath(parent))
    except OSError as exc:
        raise FileRefused(given, os_reason(exc), exc.errno or errno.EIO) from None
    seen: set[Path] = set()
    for ancestor in (parent, *parent.parents, real, *real.parents):
        if ancestor in seen:
            continue
        seen.add(ancestor)
        try:
            info = os.lstat(ancestor)
            if stat.S_ISLNK(info.st_mode) and info.st_uid in (0, uid):
                continue  # its target is on the real path, checked too
        except FileNotFoundError:
            continue  # created below, with mode 0700
        except OSError as exc:
            raise FileRefused(
                given, f"cannot check {ancestor}: {os_reason(exc)}", exc.errno or errno.EIO
            ) from None
        if info.st_uid not in (0, uid):
            raise FileRefused(
                given,
                f"lies in {ancestor}, owned by {_user(info.st_uid)}, who could replace it;"
                " use a directory whose parents belong to you or root",
            )
        others_write = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        if others_write and not info.st_mode & stat.S_ISVTX:
            raise FileRefused(
                given,
                f"lies in {ancestor}, writable by group or others (mode"
                f" {stat.S_IMODE(info.st_mode):04o}) without the sticky bit, so another user"
                f" could replace it; run chmod go-w {ancestor} or choose another place",
            )


def _make_directories(given: str, absolute: Path, last_mode: int = DIRECTORY_MODE) -> None:
    missing: list[Path] = []
    probe = absolute
    while not os.path.lexists(probe):
        missing.append(probe)
        probe = probe.parent
    for new_dir in reversed(missing):
        try:
            os.mkdir(new_dir, DIRECTORY_MODE)
        except FileExistsError:
            continue  # made meanwhile; checked like any existing one
        except OSError as exc:
            raise FileRefused(
                given, f"cannot create {new_dir}: {os_reason(exc)}", exc.errno or errno.EIO
            ) from None
        # Exactly 0700 whatever the umask took away; through a descriptor opened without
        # following links, so the chmod lands on the directory just made.
        fd = os.open(new_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fchmod(fd, last_mode if new_dir == absolute else DIRECTORY_MODE)
        finally:
            os.close(fd)
        fsync_directory(new_dir.parent)


def fsync_directory(directory: Path | str) -> None:
    """Make a file's creation, rename or removal in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- writing


def open_new(path: Path | str, *, flags: int = 0, mode: int = FILE_MODE) -> int:
    """Create a file that must not exist yet and return its descriptor (write-only).

    ``O_EXCL`` with ``O_CREAT`` never follows a symbolic link, ``O_NOFOLLOW`` says so twice:
    a link planted at ``path`` makes this fail, and its target stays untouched.

    Raises:
        FileExistsError: something (a file, a link, a directory) is already there.
        OSError: the directory is not writable.
    """
    return os.open(path, _NEW_FILE | flags, mode)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (``os.write`` may write fewer than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_new_file(path: Path | str, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Create ``path`` (it must not exist), write ``data`` and fsync it.

    Raises:
        FileExistsError: something is already at ``path``; nothing is changed.
        OSError: the write or the fsync failed; the partial file is removed.
    """
    fd = open_new(path, mode=mode)
    try:
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def replace_file(path: Path | str, data: bytes, *, mode: int = FILE_MODE) -> None:
    """Replace ``path`` atomically: a reader sees the old file or the new, never half.

    The new content goes to a fresh temporary file created with ``O_EXCL | O_NOFOLLOW``
    beside it, then is renamed over ``path``. A rename replaces a symbolic link planted at
    ``path`` with the file: the link's target is never written.

    Raises:
        OSError: the directory is not writable, the disk is full, or ``path`` is a directory;
            ``path`` is unchanged.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    write_new_file(tmp, data, mode=mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
