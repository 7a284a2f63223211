"""The cockpit's first frame, shown from a cache before pydantic and Textual are imported.

Starting the cockpit costs about 0.5 s before Textual draws its first frame (pydantic and the
profile models, Textual and rich, the session, ``App.run``; docs/PERFORMANCE-RESULTS.md). The
first frame of a fresh session does not depend on the moment (the clock is drawn just after
it, ``TopBar.start_clock``); it depends only on the profile, the values of the environment
variables it references, the terminal and the cockpit. So each fresh ``cockpit run`` keeps
the bytes Textual wrote for its first frame (captured in ``cockpit.ui.driver``), keyed by a
hash of all of those, and the next start with the same key writes them at once, before the
heavy imports; Textual then draws the same frame over it and takes the keys.

Rules that keep this honest:

- A frame is shown only once Textual drew exactly those bytes on two starts in a row for the
  key (``confirmed``); every start compares its own first frame with the entry and replaces
  an entry that differs, so a frame that changes from start to start is never shown.
- The profile is validated as always, after the frame is shown: a profile that became invalid
  (or a lock that is held) leaves the alternate screen and prints its message, exit 2.
- Keys typed while the cached frame shows are kept for Textual: the terminal echoes nothing
  and reads byte by byte until Textual's driver takes it (:func:`hand_over`).
- The cache is ours alone: a 0700 directory and 0600 files of this user, written atomically,
  at most :data:`MAX_ENTRIES`; a file that is not ours, damaged (its SHA-256 does not match)
  or holds anything but text, colours and cursor moves (:func:`safe_frame`) is ignored, so
  not even a hostile file can make the terminal do more than draw.

Stdlib only, imported by the CLI before anything heavy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from cockpit import __version__

MAX_ENTRIES = 16
"""Cached frames kept; the least recently used beyond this are removed."""
MAX_FRAME = 2 * 1024 * 1024
"""A frame file larger than this is not read (a 300x100 frame is about 0.1 MB)."""
MAX_PROFILE = 1024 * 1024
"""A profile larger than this is not hashed (the loader refuses it anyway)."""
MAGIC = "cockpit-first-frame 1"
ENTER = "\x1b[?1049h\x1b[?25l"
"""The alternate screen, cursor hidden: what Textual's driver starts with."""
LEAVE = "\x1b[?25h\x1b[?1049l"

REFERENCE = re.compile(r"\$\{(env|var):([A-Za-z_][A-Za-z0-9_]*)")
"""The start of a profile reference (``cockpit.profile.models.REFERENCE``; a test keeps them
in step): every variable the profile names is part of the key."""
TERMINAL_VARIABLES = (
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "TERM_PROGRAM",
    "COLUMNS",
    "LINES",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
)
"""What Textual and rich read from the environment to draw (with every ``TEXTUAL_*``)."""

_SAFE = re.compile(
    r"(?:[^\x00-\x1f\x7f-\x9f]|\n"  # text (no other control characters, no C1)
    r"|\x1b\[[0-9;]*[mH]"  # colours and cursor moves: all Textual writes for a frame
    r"|\x1b\]22;default\x07"  # the pointer's shape (its first write)
    r")*"
)
_SYNC = re.compile(r"\x1b\[\?2026[hl]")


def safe_frame(text: str) -> bool:
    """Whether ``text`` only draws: printable text, colours and cursor moves; nothing that
    sets a title, the clipboard or a mode, clears, or makes the terminal answer back."""
    return _SAFE.fullmatch(text) is not None


def frame_of(writes: str) -> str:
    """The frame to keep from what the driver wrote: without the synchronized-output marks
    (written or not depending on how fast the terminal answered Textual's query)."""
    return _SYNC.sub("", writes)


def cache_directory(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/cockpit/first-frame`` (default ``~/.cache/cockpit/first-frame``);
    clear it with ``rm -r`` at any time."""
    base = environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "cockpit" / "first-frame"


def _textual_version() -> str:
    """The installed Textual's version from its dist-info name, without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("textual")
    if spec is None or spec.origin is None:
        return ""
    site = os.path.dirname(os.path.dirname(spec.origin))
    with contextlib.suppress(OSError):
        for name in os.listdir(site):
            if name.startswith("textual-") and name.endswith(".dist-info"):
                return name.removeprefix("textual-").removesuffix(".dist-info")
    return ""


def _referenced(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        found.update(m.group(2) for m in REFERENCE.finditer(value))
    elif isinstance(value, dict):
        for k, v in value.items():
            _referenced(k, found)
            _referenced(v, found)
    elif isinstance(value, list):
        for v in value:
            _referenced(v, found)


def frame_key(
    profile: bytes,
    *,
    argv: Sequence[str],
    environ: Mapping[str, str],
    size: tuple[int, int],
    cwd: str,
    textual: str,
    uid: int,
) -> str | None:
    """The hash naming a first frame: everything that frame is drawn from. None when the
    profile is not TOML (then nothing is cached: the loader says what is wrong)."""
    try:
        data = tomllib.loads(profile.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    names: set[str] = set()
    _referenced(data, names)
    h = hashlib.sha256()

    def part(label: str, value: str | bytes) -> None:
        raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        h.update(f"{label}:{len(raw)}:".encode())
        h.update(raw)

    part("format", MAGIC)
    part("cockpit", __version__)
    part("textual", textual)
    part("python", sys.version)
    part("profile", profile)
    part("argv", "\0".join(argv))
    part("cwd", cwd)
    part("uid", str(uid))
    part("size", f"{size[0]}x{size[1]}")
    for name in sorted(names):
        part(f"ref {name}", environ.get(name, "\0unset"))
    for name in sorted({*TERMINAL_VARIABLES, *(n for n in environ if n.startswith("TEXTUAL"))}):
        part(f"env {name}", environ.get(name, "\0unset"))
    with contextlib.suppress(OSError):
        part("host", os.uname().nodename)
    return h.hexdigest()


# ---------------------------------------------------------------- the cache files


class Entry:
    """A cached frame as read: its text and whether two starts in a row drew it.

    A plain class: a dataclass or a NamedTuple would cost 0.004–0.008 s (``inspect``, an
    ``exec``) before the cached frame shows.
    """

    __slots__ = ("confirmed", "frame")

    def __init__(self, frame: str, confirmed: bool) -> None:
        self.frame = frame
        self.confirmed = confirmed

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.frame, self.confirmed) == (
            other.frame,
            other.confirmed,
        )

    def __hash__(self) -> int:
        return hash((self.frame, self.confirmed))

    def __repr__(self) -> str:
        return f"Entry(frame={self.frame!r}, confirmed={self.confirmed})"


def _ours(st: os.stat_result, kind: int) -> bool:
    return stat.S_IFMT(st.st_mode) == kind and st.st_uid == os.geteuid() and st.st_mode & 0o077 == 0


def read_entry(directory: Path, key: str) -> Entry | None:
    """The entry for ``key``, or None: missing, not ours, damaged or not only drawing."""
    try:
        if not _ours(os.lstat(directory), stat.S_IFDIR):
            return None
        fd = os.open(directory / key, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not _ours(st, stat.S_IFREG) or st.st_size > MAX_FRAME:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(MAX_FRAME + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    header, _, body = raw.partition(b"\n")
    fields = header.decode("ascii", "replace").split(" ")
    if len(fields) != 5 or " ".join(fields[:2]) != MAGIC or fields[2] not in ("new", "confirmed"):
        return None
    if fields[3] != key or fields[4] != hashlib.sha256(key.encode() + body).hexdigest():
        return None
    try:
        frame = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not safe_frame(frame):
        return None
    return Entry(frame, fields[2] == "confirmed")


def write_entry(directory: Path, key: str, entry: Entry) -> None:
    """Write ``entry`` atomically (0600, in a 0700 directory), then keep the newest
    :data:`MAX_ENTRIES`. Raises OSError; a directory that is not ours is left alone."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _ours(os.lstat(directory), stat.S_IFDIR):
        raise PermissionError(f"{directory} is not a private directory of this user")
    body = entry.frame.encode("utf-8")
    digest = hashlib.sha256(key.encode() + body).hexdigest()
    state = "confirmed" if entry.confirmed else "new"
    data = f"{MAGIC} {state} {key} {digest}\n".encode() + body
    temporary = directory / f".{key}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb", closefd=False) as f:
            f.write(data)
    finally:
        os.close(fd)
    os.replace(temporary, directory / key)
    _prune(directory)


def _prune(directory: Path) -> None:
    entries = []
    for item in os.scandir(directory):
        with contextlib.suppress(OSError):
            if item.is_file(follow_symlinks=False) and not item.name.startswith("."):
                entries.append((item.stat(follow_symlinks=False).st_mtime, item.path))
    entries.sort(reverse=True)
    for _mtime, path in entries[MAX_ENTRIES:]:
        with contextlib.suppress(OSError):
            os.unlink(path)


# ---------------------------------------------------------------- this process's start


class _Start:
    """This start: its key, the entry found, and while a frame shows, what it changed."""

    def __init__(self, directory: Path, key: str, entry: Entry | None) -> None:
        self.directory = directory
        self.key = key
        self.entry = entry
        self.shown = False
        self.termios_before: list[Any] | None = None
        self.stdout: TextIO | None = None
        self.stderr: TextIO | None = None
        self.held_out: _Held | None = None
        self.held_err: _Held | None = None


class _Held(io.StringIO):
    """A standard stream's text, held while the cached frame shows; still the terminal it
    stands for to whoever asks (``isatty``, ``fileno``)."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()


class _This:
    """This process's start (one per process: the ``cockpit`` command's)."""

    start: _Start | None = None


def begin(
    profile_path: str,
    argv: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
) -> bool:
    """At a fresh ``cockpit run``'s start: compute the key and, if a confirmed frame is
    cached for it, show it. Returns whether a frame is shown. Never raises: a cache that
    cannot be used is no cache."""
    environ = os.environ if environ is None else environ
    try:
        if not (os.isatty(0) and os.isatty(1)):
            return False
        size = os.get_terminal_size(1)
        fd = os.open(profile_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_PROFILE:
                return False
            with os.fdopen(fd, "rb", closefd=False) as f:
                profile = f.read(MAX_PROFILE + 1)
        finally:
            os.close(fd)
        key = frame_key(
            profile,
            argv=argv,
            environ=environ,
            size=(size.columns, size.lines),
            cwd=os.getcwd(),
            textual=_textual_version(),
            uid=os.geteuid(),
        )
        if key is None:
            return False
        directory = cache_directory(environ)
        start = _Start(directory, key, read_entry(directory, key))
        _This.start = start
    except (OSError, ValueError, RuntimeError):  # RuntimeError: no home directory
        return False
    if start.entry is not None and start.entry.confirmed:
        _show(start, start.entry.frame)
    return start.shown


def _show(start: _Start, frame: str) -> None:
    import termios

    try:
        before = termios.tcgetattr(0)
        quiet = termios.tcgetattr(0)
        # No echo, byte by byte: keys typed now wait in the terminal for Textual, unseen.
        # ISIG stays: ctrl+c still interrupts a start that hangs.
        quiet[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN)
        termios.tcsetattr(0, termios.TCSANOW, quiet)
    except termios.error:
        return
    start.termios_before = before
    start.shown = True
    # What the start prints before Textual runs (a refusal, a warning) waits: written on
    # the alternate screen it would vanish with it.
    start.stdout, start.stderr = sys.stdout, sys.stderr
    start.held_out, start.held_err = _Held(sys.stdout), _Held(sys.stderr)
    sys.stdout, sys.stderr = start.held_out, start.held_err
    try:
        _write_all(ENTER + frame)
    except OSError:
        leave()


def _write_all(text: str) -> None:
    data = memoryview(text.encode("utf-8", "replace"))
    while data:
        data = data[os.write(1, data) :]


def shown() -> bool:
    """Whether a cached frame is on the screen and Textual has not taken over."""
    return _This.start is not None and _This.start.shown


def _restore() -> tuple[str, str]:
    """Give the terminal its modes and the process its streams back; what was held for
    standard output and standard error."""
    start = _This.start
    assert start is not None
    start.shown = False
    if start.termios_before is not None:
        import termios

        with contextlib.suppress(termios.error):
            termios.tcsetattr(0, termios.TCSANOW, start.termios_before)
    if start.stdout is not None and start.stderr is not None:
        sys.stdout, sys.stderr = start.stdout, start.stderr
    out, err = start.held_out, start.held_err
    return (out.getvalue() if out else "", err.getvalue() if err else "")


def hand_over() -> bool:
    """Textual's driver takes the terminal now: restore its modes first (the driver keeps
    them to restore at the end). Returns whether the alternate screen is already on (then
    the driver must not enter it again: some terminals clear it)."""
    if not shown():
        return False
    out, err = _restore()
    if out or err:  # said before the screen: on the main screen, where it stays after the exit
        with contextlib.suppress(OSError, ValueError):
            _write_all(LEAVE)
            for stream, text in ((sys.stdout, out), (sys.stderr, err)):
                stream.write(text)
                stream.flush()
            _write_all(ENTER)
    return True


def leave() -> None:
    """The start ended before Textual ran (a refusal, a bad profile, ctrl+c): leave the
    alternate screen, restore the terminal and print what was held."""
    if not shown():
        return
    out, err = _restore()
    with contextlib.suppress(OSError, ValueError):
        _write_all(LEAVE)
        for stream, text in ((sys.stdout, out), (sys.stderr, err)):
            stream.write(text)
            stream.flush()


def drawn(writes: str) -> None:
    """Textual drew its first frame (``writes``: what its driver wrote for it): keep it for
    the next start, confirmed when it is what the entry already held."""
    start, _This.start = _This.start, None
    if start is None:
        return
    frame = frame_of(writes)
    if not safe_frame(frame) or len(frame.encode("utf-8")) > MAX_FRAME:
        return
    entry = start.entry
    if entry is not None and entry.frame == frame and entry.confirmed:
        with contextlib.suppress(OSError):
            os.utime(start.directory / start.key)  # recently used
        return
    confirmed = entry is not None and entry.frame == frame
    with contextlib.suppress(OSError):
        write_entry(start.directory, start.key, Entry(frame, confirmed))
