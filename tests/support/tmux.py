"""Drive a terminal program in a real tmux, the way a person would: keys in, screen out.

Each :class:`TmuxPane` owns a private tmux server (its own socket name), so tests never touch
a tmux a person is using and can run side by side. The server is configured from a file of
our own (no ``~/.tmux.conf``): no status line, so the pane is exactly the size asked for, and
``remain-on-exit`` so the exit status and the last screen of a program that ended can still be
read. ``close()`` kills the server; use the object as a context manager.

Also used by the benchmarks (``benchmarks/ui_*.py``), so it depends on nothing but the
standard library.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

POLL_S = 0.05
"""Seconds between screen reads while waiting."""

_CONFIG = """\
set -g status off
set -g remain-on-exit on
set -g history-limit 5000
set -g escape-time 0
"""

_SGR = re.compile(r"\x1b\[([0-9;:]*)m")
_GREY_BASIC = {30, 37, 39, 40, 47, 49, 90, 97, 100, 107}


def _grey_256(n: int) -> bool:
    if n in (0, 7, 8, 15) or n >= 232:
        return True
    if 16 <= n <= 231:
        r, g, b = (n - 16) // 36, (n - 16) // 6 % 6, (n - 16) % 6
        return r == g == b
    return False


class TmuxError(RuntimeError):
    """A tmux command failed."""


class ScreenTimeout(AssertionError):
    """What was awaited did not appear on the screen in time; carries the last screen."""


def install_tmux() -> None:
    """Install tmux with apt-get when it is missing and we are root (as in CI)."""
    if tmux_path() is not None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "tmux"]):
        subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)


def tmux_path() -> str | None:
    """The tmux executable, or None when it is not installed."""
    return shutil.which("tmux")


def chromatic_colours(screen_with_escapes: str) -> list[str]:
    """The colours that are not grey in a ``capture-pane -e`` dump (empty: black, white, greys).

    With ``NO_COLOR`` Textual renders in monochrome: shades of grey remain, hues must not.
    """
    found: list[str] = []
    for match in _SGR.finditer(screen_with_escapes):
        params = [int(p) if p.isdigit() else -1 for p in re.split(r"[;:]", match.group(1))]
        index = 0
        while index < len(params):
            code = params[index]
            if code in (38, 48, 58) and index + 1 < len(params):
                if params[index + 1] == 5 and index + 2 < len(params):
                    if not _grey_256(params[index + 2]):
                        found.append(f"{code};5;{params[index + 2]}")
                    index += 3
                    continue
                if params[index + 1] == 2 and index + 4 < len(params):
                    rgb = params[index + 2 : index + 5]
                    if len(set(rgb)) != 1:
                        found.append(f"{code};2;" + ";".join(map(str, rgb)))
                    index += 5
                    continue
            elif (30 <= code <= 49 or 90 <= code <= 107) and code not in _GREY_BASIC:
                found.append(str(code))
            index += 1
    return found


class TmuxPane:
    """One program in one detached tmux session on a private server.

    Args:
        width: columns of the pane.
        height: rows of the pane.
        name: a label for the socket name (a random suffix keeps it unique).
    """

    def __init__(self, width: int = 120, height: int = 40, *, name: str = "cockpit-test") -> None:
        exe = tmux_path()
        if exe is None:
            raise TmuxError("tmux is not installed")
        self.exe = exe
        self.width = width
        self.height = height
        self.socket = f"{name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.target = "main:"
        self._config_dir = Path(tempfile.mkdtemp(prefix="tmux-conf-"))
        self._config = self._config_dir / "tmux.conf"
        self._config.write_text(_CONFIG)
        self._status = self._config_dir / "exit-status"
        self.started = False

    # ------------------------------------------------------------ plumbing

    def tmux(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> str:
        """Run one tmux command on this pane's server and return its stdout."""
        done = subprocess.run(
            [self.exe, "-L", self.socket, "-f", str(self._config), *args],
            capture_output=True,
            text=True,
            env=None if env is None else dict(env),
            stdin=subprocess.DEVNULL,
            timeout=30,
            check=False,
        )
        if check and done.returncode != 0:
            raise TmuxError(f"tmux {shlex.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
    ) -> None:
        """Start ``argv`` in a new detached session of the configured size.

        Args:
            argv: the program and its arguments (joined for tmux with shell quoting).
            env: variables set for the program only (``new-session -e``); the tmux server
                itself runs with our environment, so it never carries them.
            cwd: the program's working directory.
        """
        server_env = dict(os.environ)
        server_env.pop("TMUX", None)  # never talk to a surrounding tmux
        # The program's size is the pane's: COLUMNS and LINES (pytest-xdist's workers set them
        # to 80 and 24) would override it for Textual and shutil.get_terminal_size.
        server_env.pop("COLUMNS", None)
        server_env.pop("LINES", None)
        if env is not None and "PATH" in env:
            # tmux gives a new session the PATH of the client that creates it, over `-e PATH`.
            server_env["PATH"] = env["PATH"]
        args = ["new-session", "-d", "-s", "main", "-x", str(self.width), "-y", str(self.height)]
        if cwd is not None:
            args += ["-c", str(cwd)]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        # A shell waits for the program and writes its exit status to a file: tmux may mark the
        # pane dead (pty closed) before it has reaped the program and then never reports the
        # status (#{pane_dead_status} stays empty), measured with tmux 3.3a.
        script = '"$@"; echo $? > "$COCKPIT_TMUX_STATUS"'
        wrapped = ["env", f"COCKPIT_TMUX_STATUS={self._status}", "sh", "-c", script, "sh", *argv]
        self.tmux(*args, "exec " + shlex.join(wrapped), env=server_env)
        self.started = True

    def keys(self, *keys: str) -> None:
        """Send keys by their tmux names (``R``, ``Enter``, ``C-c``...)."""
        self.tmux("send-keys", "-t", self.target, *keys)

    def type_text(self, text: str) -> None:
        """Type ``text`` as it is (tmux takes no key names from it), then Enter."""
        self.tmux("send-keys", "-t", self.target, "-l", text)
        self.tmux("send-keys", "-t", self.target, "Enter")

    def read_back(self, answer: str = "5m", *, timeout: float = 15) -> None:
        """The Monitor's t: press it, wait for the readback question, type the answer (the
        test profiles' trigger time)."""
        self.keys("t")
        self.wait_for("TYPE TO CONFIRM", timeout=timeout)
        self.type_text(answer)

    def screen(self, *, escapes: bool = False, history: bool = False) -> str:
        """What is on the screen now.

        Args:
            escapes: include the escape sequences (colours, bold...).
            history: include the lines scrolled off the top (tmux's "Pane is dead" line may
                push the first line of a short program's output there).
        """
        args = ["capture-pane", "-p", "-t", self.target]
        if escapes:
            args.append("-e")
        if history:
            args += ["-S", "-"]
        return self.tmux(*args)

    def pane_info(self, fmt: str) -> str:
        """A tmux format evaluated for the pane, e.g. ``#{pane_pid}``."""
        return self.tmux("display-message", "-p", "-t", self.target, fmt).strip()

    @property
    def shell_pid(self) -> int:
        """The pid of the pane's shell, which waits for the program."""
        return int(self.pane_info("#{pane_pid}"))

    def program_pid(self) -> int | None:
        """The pid of the program in the pane (the shell's child), None once it has ended."""
        shell = self.shell_pid
        try:
            children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def exit_status(self) -> int | None:
        """The program's exit status once it has ended, else None."""
        try:
            text = self._status.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text.lstrip("-").isdigit() else None

    # ------------------------------------------------------------ waiting

    def wait_until(
        self,
        predicate: Callable[[str], bool],
        *,
        timeout: float,
        what: str,
        on_poll: Callable[[str], None] | None = None,
    ) -> str:
        """Poll the screen until ``predicate(screen)`` holds; return that screen.

        Raises:
            ScreenTimeout: at the deadline, with ``what`` and the last screen in the message.
        """
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if predicate(text):
                return text
            if time.monotonic() >= deadline:
                raise ScreenTimeout(
                    f"not on the screen after {timeout:.0f} s: {what}\n"
                    f"---- last screen ({self.width}x{self.height}) ----\n{text}"
                )
            if on_poll is not None:
                on_poll(text)
            time.sleep(POLL_S)

    def wait_for(self, *texts: str, timeout: float = 15.0) -> str:
        """Wait until every one of ``texts`` is on the screen at once; return the screen."""
        return self.wait_until(
            lambda s: all(t in s for t in texts), timeout=timeout, what=" + ".join(map(repr, texts))
        )

    def wait_exit(self, *, timeout: float = 15.0) -> int:
        """Wait until the program has ended; return its exit status.

        Raises:
            ScreenTimeout: it is still running at the deadline.
        """
        deadline = time.monotonic() + timeout
        while True:
            status = self.exit_status()
            if status is not None:
                return status
            if time.monotonic() >= deadline:
                raise ScreenTimeout(
                    f"the program did not exit within {timeout:.0f} s\n"
                    f"---- last screen ----\n{self.screen()}"
                )
            time.sleep(POLL_S)

    # ------------------------------------------------------------ teardown

    def close(self) -> None:
        """Kill this pane's tmux server (and with it the pane's program); idempotent."""
        if self.started:
            self.tmux("kill-server", check=False)
            self.started = False
        # kill-server leaves the socket file behind; it is ours (a unique name), remove it.
        base = os.environ.get("TMUX_TMPDIR") or "/tmp"
        (Path(base) / f"tmux-{os.getuid()}" / self.socket).unlink(missing_ok=True)
        shutil.rmtree(self._config_dir, ignore_errors=True)

    def __enter__(self) -> TmuxPane:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
