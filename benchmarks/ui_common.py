"""Shared plumbing of the UI benchmarks (``benchmarks/ui_*.py``): nothing here is asserted.

The cockpit runs as a real process in a detached tmux pane of fixed size (tests/support/tmux.py),
against a demo service started beforehand (``DemoStack``), so the service's start-up is never
counted. CPU and memory come from ``/proc/<pid>``; latencies from ``time.time()`` stamps of
this process and of the children themselves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as `python benchmarks/ui_x.py`: make `tests` importable
    sys.path.insert(0, str(ROOT))

import tomli_w  # noqa: E402
from emit import Row, median, percentile, print_curve, print_table, ratio, verdict  # noqa: E402
from tests.support.tmux import ScreenTimeout, TmuxPane  # noqa: E402

from cockpit.demo.stack import DemoStack  # noqa: E402

__all__ = [
    "Row",
    "ScreenTimeout",
    "TmuxPane",
    "median",
    "percentile",
    "print_curve",
    "print_table",
    "ratio",
    "verdict",
]

COCKPIT = Path(sys.executable).parent / "cockpit"
DEMO_PROFILE = ROOT / "profiles" / "demo.toml"
GLANCES_CANDIDATES = ("/tmp/glances-venv/bin/glances", shutil.which("glances") or "")
MARK_VARIABLE = "COCKPIT_BENCH_MARK"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- figures


def compile_sources() -> str:
    """Compile the cockpit's modules (``__pycache__``), as an installed cockpit has them.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on the shared machine) and a source checkout,
    every start would compile about 80 modules from source: 0.12–0.15 s of each first paint,
    measured, that no installed cockpit pays. Returns a line saying what was done.
    """
    import compileall

    import cockpit

    package = Path(cockpit.__file__).resolve().parent
    compileall.compile_dir(package, quiet=1)
    flag = " (PYTHONDONTWRITEBYTECODE is set)" if sys.flags.dont_write_bytecode else ""
    return f"compiled the modules of {package}{flag}"


def machine() -> str:
    """One line naming this machine and the versions that matter."""
    import platform
    import subprocess

    import textual

    done = subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=False)
    tmux = done.stdout.strip()
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"Textual {textual.__version__}, {tmux}, load {os.getloadavg()[0]:.2f}"
    )


# ---------------------------------------------------------------- /proc


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """utime + stime of ``pid`` (with ``children``: plus its reaped children's)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    # After the command name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def marked_pids(marker: str) -> list[int]:
    """Live processes whose environment carries ``MARK_VARIABLE=marker``."""
    needle = f"{MARK_VARIABLE}={marker}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            found.append(int(name))
    return found


def kill_marked(marker: str) -> None:
    """SIGKILL, by pid, every process a benchmark run started (they carry the marker)."""
    for pid in marked_pids(marker):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- the demo and profiles


@contextlib.contextmanager
def demo_stack() -> Iterator[DemoStack]:
    """The demo service and its load, up before any timing starts; stopped at the end."""
    state = Path(tempfile.mkdtemp(prefix="cockpit-bench-demo-"))
    stack = DemoStack(state)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(state, ignore_errors=True)


def write_profile(
    path: Path,
    *,
    step_command: list[str] | None = None,
    rollback_command: list[str] | None = None,
    drop_cpu_check: bool = False,
) -> Path:
    """A copy of the demo profile with another step and rollback command.

    ``drop_cpu_check``: the CPU check measures the whole machine and stays RED while the
    machine is loaded; the latency benchmarks are not about it.
    """
    data: dict[str, Any] = tomllib.loads(DEMO_PROFILE.read_text())
    if drop_cpu_check:
        data["checks"] = [c for c in data["checks"] if c["id"] != "cpu"]
    step = data["stages"][0]["steps"][0]
    if step_command is not None:
        step["command"] = step_command
        step["timeout"] = "10m"
    if rollback_command is not None:
        data["rollback"]["commands"] = [rollback_command]
    path.write_text(tomli_w.dumps(data))
    return path


class Cockpit:
    """``cockpit run PROFILE`` in its own tmux pane, against a running demo stack."""

    def __init__(
        self,
        stack: DemoStack,
        profile: Path,
        workdir: Path,
        *,
        width: int = 120,
        height: int = 40,
        sessions: Path | None = None,
        cache: Path | None = None,
    ) -> None:
        self.stack = stack
        self.profile = profile
        self.workdir = workdir
        self.sessions = sessions or workdir / "sessions"
        self.cache = cache or workdir / "cache"
        """XDG_CACHE_HOME: the first-frame cache (cockpit.first_frame) of this run alone, unless
        given; a cached frame is used only by a start with the same arguments (sessions)."""
        self.marker = uuid.uuid4().hex
        self.pane = TmuxPane(width, height, name="cockpit-bench")
        # Start the tmux server first, so spawning the cockpit is not also spawning tmux.
        self.pane.tmux("new-session", "-d", "-s", "keep", "sleep 3600")
        self.pane.started = True

    def start(self) -> float:
        """Start the cockpit; returns time.monotonic() just before the spawn."""
        env = {**self.stack.env(), MARK_VARIABLE: self.marker, "XDG_CACHE_HOME": str(self.cache)}
        sessions = self.sessions
        sessions.mkdir(parents=True, exist_ok=True)
        argv = [str(COCKPIT), "run", str(self.profile), "--sessions-dir", str(sessions)]
        t0 = time.monotonic()
        self.pane.start(argv, env=env, cwd=ROOT)
        return t0

    @property
    def pid(self) -> int:
        pid = self.pane.program_pid()
        if pid is None:
            raise RuntimeError("the cockpit is not running:\n" + self.pane.screen(history=True))
        return pid

    def close(self) -> None:
        self.pane.close()
        deadline = time.monotonic() + 5
        while marked_pids(self.marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_marked(self.marker)

    def __enter__(self) -> Cockpit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


CLOCK_GLYPHS = frozenset("━┓┏╸╺╻┃┗┛┣┫╹")


def clock_shown(screen: str, width: int = 120) -> bool:
    """Whether the top bar's big clock is drawn: just after Textual's own first frame
    (``TopBar.start_clock``), so the cockpit takes keys from then on."""
    lines = screen.splitlines()
    return len(lines) > 2 and any(c in CLOCK_GLYPHS for c in lines[1][width - 40 : width - 2])


def drive_to_step_started(pane: TmuxPane, *, green_timeout: float = 120.0) -> None:
    """Readback, manual check, GREEN, both GOs, verify, run step 1; until its output shows."""
    pane.wait_for("BRIEFING", timeout=30)
    pane.read_back()  # the Monitor types the trigger time (5m in the demo profile)
    pane.wait_for("CHECKLIST", timeout=10)
    pane.keys("c")
    deadline = time.monotonic() + green_timeout
    last_e = time.monotonic()

    def rerun(_s: str) -> None:
        nonlocal last_e
        if time.monotonic() - last_e > 8:
            pane.keys("e")
            last_e = time.monotonic()

    while True:
        screen = pane.wait_until(
            lambda s: "give your GO with" in s or "EXECUTING" in s,
            timeout=max(1.0, deadline - time.monotonic()),
            what="all checks GREEN",
            on_poll=rerun,
        )
        if "EXECUTING" in screen:
            break
        key, after = ("g", "GO with m") if "GO with g" in screen else ("m", "EXECUTING")
        pane.keys(key)
        with contextlib.suppress(ScreenTimeout):
            pane.wait_for(after, timeout=5)
    pane.wait_for("verify the command of step 1", timeout=10)
    pane.keys("v")
    pane.wait_for("run step 1", timeout=10)
    pane.keys("x")
    pane.wait_for("──── STEP", timeout=15)


def poll(
    probe: Callable[[], float | None], *, timeout: float, interval: float = 0.001
) -> float | None:
    """Call ``probe`` until it returns a number, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value is not None:
            return value
        time.sleep(interval)
    return None


def read_stamp(path: Path) -> float | None:
    """A wall time a child wrote to ``path`` (None while not there or half-written)."""
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    try:
        return float(text)
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class Peer:
    """A terminal monitor measured beside the cockpit in the same run (PERFORMANCE.md)."""

    name: str
    argv: list[str]
    painted: tuple[str, ...]
    """Texts that are all on its first screen."""
    env: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def label(self) -> str:
        return " ".join([self.name, *self.argv[1:]])


PEER_INSTALL = {
    "glances": "python3 -m venv /tmp/glances-venv && /tmp/glances-venv/bin/pip install glances",
    "htop": "apt-get install -y htop (as root, Debian)",
    "btop": "apt-get install -y btop (as root, Debian)",
}


def peers() -> tuple[list[Peer], dict[str, str]]:
    """The installed peers, each refreshing once a second as the cockpit does, and for each
    missing one how to install it."""
    found: list[Peer] = []
    missing: dict[str, str] = {}
    exe = glances()
    if exe is not None:
        found.append(Peer("glances", [exe, "-t", "1"], ("MEM", "LOAD")))
    htop = shutil.which("htop")
    if htop is not None:
        found.append(Peer("htop", [htop, "-d", "10"], ("Tasks:", "Load average")))
    btop = shutil.which("btop")
    if btop is not None:
        # btop 1.2 takes its refresh from its configuration file only: a private one at 1 s.
        config = Path(tempfile.gettempdir()) / "cockpit-bench-btop"
        (config / "btop").mkdir(parents=True, exist_ok=True)
        (config / "btop" / "btop.conf").write_text("update_ms = 1000\n")
        env = {"XDG_CONFIG_HOME": str(config), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
        found.append(Peer("btop", [btop, "--utf-force"], ("cpu", "proc"), env))
    for name, how in PEER_INSTALL.items():
        if name not in {p.name for p in found}:
            missing[name] = how
    for name, how in missing.items():
        print(f"{name} is not installed ({how}): no {name} peer")
    return found, missing


def glances() -> str | None:
    """A glances executable, if one is installed (``pip install glances`` in /tmp/glances-venv)."""
    for candidate in GLANCES_CANDIDATES:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None
