"""Where a session's attach socket lives, and the index that lets the crew find it.

Each OS user who runs sessions has a directory of their own in the host's cockpit directory
(``/run/cockpit/<user>/``, or ``$COCKPIT_RUNTIME_DIR/<user>/``): owned by them, writable by
nobody else, and searchable (0711) so that the crew can reach a socket inside by name, while
nobody else can list it or plant or replace anything there. Without a host directory a
user's sessions live in ``$XDG_RUNTIME_DIR/cockpit`` (reachable by the crew only where that
directory is searchable). A directory that is a symbolic link, writable by others, or owned
by someone else is refused.

The index, ``sessions.json`` (0644) in that directory, lists its user's live sessions: the
socket's name, the session, who may join. It is a guide for ``cockpit attach`` and
``cockpit sessions --attachable``; who may talk is decided on every connection by the
peer's credentials, never by this file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cockpit import pydantic_plugins
from cockpit.files import FileRefused, fsync_directory, secure_directory, shared_directory
from cockpit.lock import host_directory
from cockpit.lock.process import start_time, user_name

pydantic_plugins.skip_lookup()  # before the first model here (see cockpit.pydantic_plugins)

DIRECTORY_MODE = 0o711
INDEX = "sessions.json"
INDEX_LIMIT = 1 << 20
SOCKET_PATH_MAX = 107
"""The longest socket path Linux accepts (``sun_path`` holds 108 bytes with its NUL)."""


class PlaceRefused(Exception):
    """The socket's directory cannot be used: why, in one line."""


@dataclass(frozen=True)
class Entry:
    """One live session in an owner's index."""

    id: str
    """The session's id: its journal's name without ``.jsonl``."""
    socket: str
    """The socket's file name in the owner's directory."""
    owner: str
    owner_uid: int
    pid: int
    start: int
    journal: str
    deployment: str
    service: str
    environments: list[str]
    started: float
    monitor: list[str] = field(default_factory=list)
    """OS users who may join as Monitor."""
    observers: list[str] = field(default_factory=list)
    """OS users who may join read-only."""

    def alive(self) -> bool:
        """Whether the session's cockpit still runs."""
        return start_time(self.pid) == self.start

    def may_join(self, user: str) -> list[str]:
        """The roles ``user`` may join as (empty: none)."""
        roles = []
        if user in self.monitor:
            roles.append("monitor")
        if user in self.observers or user in self.monitor or user == self.owner:
            roles.append("observer")
        return roles


class _EntryModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._-]+$")
    socket: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+\.sock$")
    owner: str = Field(min_length=1, max_length=64)
    owner_uid: int = Field(ge=0)
    pid: int = Field(ge=1)
    start: int = Field(ge=0)
    journal: str = Field(max_length=4096)
    deployment: str = Field(max_length=500)
    service: str = Field(max_length=200)
    environments: list[str] = Field(max_length=32)
    started: float
    monitor: list[str] = Field(max_length=64)
    observers: list[str] = Field(max_length=64)


class _IndexModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    version: int = Field(ge=1, le=1)
    sessions: list[_EntryModel] = Field(max_length=256)


def owner_directory(environ: Mapping[str, str] | None = None, *, user: str | None = None) -> Path:
    """The directory of ``user``'s (default: this user's) sockets and index."""
    host = host_directory(environ)
    name = user or user_name(os.geteuid())
    if host is not None:
        return host / name
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.isabs(runtime):
        return Path(runtime) / "cockpit"
    return Path(f"/tmp/cockpit-{os.geteuid()}")  # as tmux does without a runtime directory


def prepare_directory(directory: Path) -> None:
    """Make (or check) this user's socket directory: 0711, this user's, nobody else's to
    write; refuse a symbolic link, one writable by others, one owned by someone else.

    Raises:
        PlaceRefused: why it cannot be used, and the fix.
    """
    parent = directory.parent
    try:
        if host_directory() is not None and parent == host_directory():
            shared_directory(parent)
        secure_directory(directory, mode=DIRECTORY_MODE)
    except FileRefused as exc:
        raise PlaceRefused(f"attach directory {exc}") from None
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if stat.S_IMODE(info.st_mode) != DIRECTORY_MODE:
            os.fchmod(fd, DIRECTORY_MODE)  # searchable by the crew, listable by nobody else
    finally:
        os.close(fd)


def socket_name(journal: Path) -> str:
    """A short socket name for a session (a socket path may have at most 107 bytes)."""
    return hashlib.sha256(str(journal).encode()).hexdigest()[:16] + ".sock"


def check_socket_directory(directory: Path, owner_uid: int) -> None:
    """A client's check before it connects: the directory is the owner's, not a link, and
    nobody else may write to it.

    Raises:
        PlaceRefused: why the socket there is not trusted.
    """
    try:
        info = os.lstat(directory)
    except OSError as exc:
        raise PlaceRefused(f"{directory}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise PlaceRefused(f"{directory}: is a symbolic link or not a directory; not trusted")
    if info.st_uid != owner_uid:
        raise PlaceRefused(
            f"{directory}: is owned by {user_name(info.st_uid)}, not by the session's owner"
            f" {user_name(owner_uid)}; not trusted"
        )
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PlaceRefused(
            f"{directory}: is writable by group or others (mode"
            f" {stat.S_IMODE(info.st_mode):04o}); anyone could plant a socket there"
        )


# ---------------------------------------------------------------- the index


@contextlib.contextmanager
def _index_lock(directory: Path) -> Iterator[None]:
    fd = os.open(
        directory / ".index.lock",
        os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
        0o600,
    )
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def read_index(directory: Path, owner_uid: int | None = None) -> list[Entry]:
    """The entries of an owner's index (live or not), validated; [] when there is none.

    Raises:
        PlaceRefused: the index is not the owner's, not a regular file, or not an index.
    """
    path = directory / INDEX
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise PlaceRefused(f"{path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PlaceRefused(f"{path}: not a regular file")
        if owner_uid is not None and info.st_uid != owner_uid:
            raise PlaceRefused(f"{path}: not written by {user_name(owner_uid)}; not trusted")
        data = os.read(fd, INDEX_LIMIT + 1)
    finally:
        os.close(fd)
    if len(data) > INDEX_LIMIT:
        raise PlaceRefused(f"{path}: larger than an index may be")
    try:
        model = _IndexModel.model_validate(json.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, ValueError, ValidationError) as exc:
        raise PlaceRefused(f"{path}: not a session index ({str(exc).splitlines()[0]})") from None
    return [Entry(**m.model_dump()) for m in model.sessions]


def _write_index(directory: Path, entries: list[Entry]) -> None:
    data = json.dumps(
        {"version": 1, "sessions": [asdict(e) for e in entries]}, sort_keys=True, indent=1
    ).encode()
    tmp = directory / f".{INDEX}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o644)  # the crew reads it to find the socket
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    os.replace(tmp, directory / INDEX)
    with contextlib.suppress(OSError):
        fsync_directory(directory)


def add_entry(directory: Path, entry: Entry) -> None:
    """Add a live session to this user's index (and drop the entries of dead ones)."""
    with _index_lock(directory):
        try:
            entries = read_index(directory, os.geteuid())
        except PlaceRefused:
            entries = []  # ours to rewrite
        kept = [e for e in entries if e.id != entry.id and e.alive()]
        _write_index(directory, [*kept, entry])


def remove_entry(directory: Path, session_id: str) -> None:
    """Take a session off this user's index."""
    with contextlib.suppress(OSError, PlaceRefused), _index_lock(directory):
        entries = read_index(directory, os.geteuid())
        _write_index(directory, [e for e in entries if e.id != session_id and e.alive()])


def all_entries(environ: Mapping[str, str] | None = None) -> tuple[list[Entry], list[str]]:
    """The live sessions of every user of this host that can be found, and the problems
    met on the way (an index that is not one, a directory not trusted)."""
    found: list[Entry] = []
    problems: list[str] = []
    places: list[tuple[Path, int | None]] = []
    host = host_directory(environ)
    if host is not None:
        with contextlib.suppress(OSError):
            for name in sorted(os.listdir(host)):
                path = host / name
                with contextlib.suppress(OSError):
                    info = os.lstat(path)
                    if stat.S_ISDIR(info.st_mode):
                        places.append((path, info.st_uid))
    own = owner_directory(environ)
    if all(p != own for p, _ in places):
        places.append((own, os.geteuid()))
    for directory, uid in places:
        if not os.path.lexists(directory):
            continue
        try:
            check_socket_directory(directory, uid if uid is not None else os.geteuid())
            entries = read_index(directory, uid)
        except PlaceRefused as exc:
            problems.append(str(exc))
            continue
        for entry in entries:
            if entry.owner_uid != uid:
                problems.append(f"{directory}: lists a session of uid {entry.owner_uid}; ignored")
            elif entry.alive():
                found.append(entry)
    return found, problems
