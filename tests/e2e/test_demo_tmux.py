"""The whole demo, end to end: ``cockpit demo`` in a real tmux, driven by keys like a crew would.

Real processes throughout: the demo service and its load generator, the deploy of the bad v2,
the rollback to v1. Every step waits for words on the screen with a deadline; nothing sleeps
and hopes. Afterwards the journal must verify, tell the story in the right order, and no demo
process may be left behind.

The runs that need every readiness check GREEN start the service themselves and open the
demo profile with ``cockpit run``, with capacity checks any host passes: the demo's own
measure the whole machine and are RED whenever other work loads it. ``cockpit demo`` itself
is driven to the checklist, through a hang-up and through stop and continue signals.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cockpit.demo.stack import DemoStack
from cockpit.journal import Record, read_journal
from tests.support.demo import demo_profile_on_any_host
from tests.support.tmux import ScreenTimeout, TmuxPane, chromatic_colours

pytestmark = pytest.mark.e2e

COCKPIT = Path(sys.executable).parent / "cockpit"
REPO = Path(__file__).resolve().parents[2]
MARK_VARIABLE = "COCKPIT_E2E_MARK"
"""Set for the cockpit only; every process it starts inherits it, so leftovers can be found."""

GREEN_TIMEOUT = float(os.environ.get("COCKPIT_E2E_GREEN_TIMEOUT", "100"))
"""Seconds to wait for every readiness check to be GREEN. The runs that need GREEN use the
demo profile with capacity checks any host passes (``demo_profile_on_any_host``), so a busy
machine only makes them slower, never RED."""
RERUN_EVERY = 8.0
"""Seconds between presses of ``e`` (re-run the checks) while waiting for GREEN."""


# ---------------------------------------------------------------- processes we started


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    stat = _read(f"/proc/{pid}/stat")
    return bool(stat) and not stat[stat.rfind(b")") + 2 :].startswith(b"Z")


def demo_processes(marker: str, state_dirs: list[Path]) -> dict[int, str]:
    """Live processes started by this test's cockpit: carrying the marker or naming a state dir."""
    found: dict[int, str] = {}
    needle = f"{MARK_VARIABLE}={marker}".encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        if not _alive(int(name)):
            continue  # gone, or a zombie waiting for its parent
        cmdline = _read(f"/proc/{name}/cmdline").replace(b"\0", b" ").decode(errors="replace")
        environ = _read(f"/proc/{name}/environ").split(b"\0")
        if needle in environ or any(str(d) in cmdline for d in state_dirs):
            found[int(name)] = cmdline.strip()
    return found


@dataclass
class DemoRun:
    """One ``cockpit demo`` in its own tmux, with its own temporary and sessions directories."""

    pane: TmuxPane
    root: Path
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    service_pid: int | None = None
    stack: DemoStack | None = None
    """The demo service and its load when this test started them (``start_run``)."""

    @property
    def tmpdir(self) -> Path:
        """TMPDIR of the cockpit: ``cockpit demo`` makes its demo state directory in here."""
        return self.root / "tmp"

    @property
    def sessions_dir(self) -> Path:
        return self.root / "sessions"

    def state_dirs(self) -> list[Path]:
        return sorted(self.tmpdir.glob("cockpit-demo-*"))

    def start(self, *, no_color: bool = False) -> None:
        self.tmpdir.mkdir(parents=True)
        self.sessions_dir.mkdir()
        env = {"TMPDIR": str(self.tmpdir), MARK_VARIABLE: self.marker}
        if no_color:
            env["NO_COLOR"] = "1"
        self.pane.start(
            [str(COCKPIT), "demo", "--sessions-dir", str(self.sessions_dir)], env=env, cwd=REPO
        )

    def start_run(self, *, no_color: bool = False) -> None:
        """The demo as ``cockpit demo`` runs it, but through ``cockpit run`` on the demo
        profile with capacity checks any host passes: the service and its load are started
        here, in a state directory where ``cockpit demo`` would make one."""
        self.tmpdir.mkdir(parents=True)
        self.sessions_dir.mkdir()
        self.stack = DemoStack(self.tmpdir / "cockpit-demo-run")
        self.stack.start()
        env = {**self.stack.env(), "TMPDIR": str(self.tmpdir), MARK_VARIABLE: self.marker}
        if no_color:
            env["NO_COLOR"] = "1"
        profile = demo_profile_on_any_host(self.root)
        argv = [str(COCKPIT), "run", str(profile), "--sessions-dir", str(self.sessions_dir)]
        self.pane.start(argv, env=env, cwd=REPO)

    def stop_stack(self) -> None:
        """Stop the service and its load if this test started them (``cockpit demo`` stops
        its own on exit)."""
        if self.stack is not None:
            self.stack.stop()

    def end_run(self) -> None:
        """After ``start_run`` and q: stop the service and close the pane (its tmux server
        names the state directory in its own command line)."""
        self.stop_stack()
        self.pane.close()

    def note_service_pid(self) -> int:
        """Read the running demo service's pid (the service removes its pid file on exit)."""
        states = self.state_dirs()
        assert len(states) == 1, f"expected one demo state directory in {self.tmpdir}: {states}"
        pid_file = states[0] / "service.pid"
        assert pid_file.exists(), f"the demo service is up but wrote no {pid_file}"
        self.service_pid = int(pid_file.read_text().strip())
        assert _alive(self.service_pid), f"the demo service pid {self.service_pid} is not running"
        return self.service_pid

    def leftovers(self) -> dict[int, str]:
        return demo_processes(self.marker, self.state_dirs())

    def journal(self) -> Path:
        journals = sorted(self.sessions_dir.glob("*.jsonl"))
        assert len(journals) == 1, f"expected one journal in {self.sessions_dir}: {journals}"
        return journals[0]

    def kill_leftovers(self) -> None:
        """Teardown after a failure: SIGKILL what this run left, by pid."""
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def _demo_run(tmp_path: Path, width: int, height: int) -> Iterator[DemoRun]:
    pane = TmuxPane(width, height, name=f"cockpit-e2e-{width}x{height}")
    run = DemoRun(pane, tmp_path)
    try:
        yield run
    finally:
        pane.close()  # SIGHUP to the cockpit if it is still there
        run.stop_stack()
        deadline = time.monotonic() + 10
        while run.leftovers() and time.monotonic() < deadline:
            time.sleep(0.1)  # the demo's own stop() may still be finishing
        run.kill_leftovers()


@pytest.fixture
def demo_120x40(tmux_ready: None, tmp_path: Path) -> Iterator[DemoRun]:
    yield from _demo_run(tmp_path, 120, 40)


@pytest.fixture
def demo_80x24(tmux_ready: None, tmp_path: Path) -> Iterator[DemoRun]:
    yield from _demo_run(tmp_path, 80, 24)


# ---------------------------------------------------------------- driving the crew's keys


def _wait_for_go_and_give_it(pane: TmuxPane) -> None:
    """Wait until every check is GREEN, then Operator GO (g) and Monitor GO (m) → EXECUTING.

    A check may turn RED again between the two GOs; then the GO is refused and we wait for
    GREEN again, until the overall deadline.
    """
    deadline = time.monotonic() + GREEN_TIMEOUT
    last_rerun = time.monotonic()

    def rerun_now_and_then(_screen: str) -> None:
        nonlocal last_rerun
        if time.monotonic() - last_rerun >= RERUN_EVERY:
            pane.keys("e")
            last_rerun = time.monotonic()

    while True:
        left = deadline - time.monotonic()
        screen = pane.wait_until(
            lambda s: "give your GO with g" in s or "give your GO with m" in s or "EXECUTING" in s,
            timeout=max(left, 1.0),
            what=f"all readiness checks GREEN (waited up to {GREEN_TIMEOUT:.0f} s, pressing e)",
            on_poll=rerun_now_and_then,
        )
        if "EXECUTING" in screen:
            return
        key, after = ("g", "give your GO with m") if "with g" in screen else ("m", "EXECUTING")
        pane.keys(key)
        try:
            pane.wait_for(after, timeout=5)
        except ScreenTimeout:
            if time.monotonic() >= deadline:
                raise
            # refused: a check went RED again; wait for GREEN once more


HTTP_5XX_FAIL = re.compile(r"FAIL\s+HTTP 5xx rate")


def drive_to_rollback_advised(run: DemoRun) -> str:
    """From the briefing to the RED stop point after the deploy of v2; returns that screen."""
    pane = run.pane
    pane.wait_for("BRIEFING", "PRODUCTION", timeout=40)
    run.note_service_pid()
    pane.read_back()  # Monitor: triggers read back
    pane.wait_for("CHECKLIST", timeout=10)
    pane.keys("c")  # Operator: confirms the manual runbook check
    pane.wait_until(
        lambda s: "confirm 'Runbook" not in s and "NEXT" in s,
        timeout=10,
        what="the runbook check confirmed",
    )
    _wait_for_go_and_give_it(pane)
    pane.wait_for("verify the command of step 1", timeout=10)
    pane.keys("v")  # Monitor: verifies the command
    pane.wait_for("run step 1", timeout=10)
    pane.keys("x")  # Operator: deploys v2, the bad release
    # Every part of the screen that says it (a frame is drawn a widget at a time).
    return pane.wait_until(
        lambda s: (
            "ROLLBACK ADVISED" in s
            and HTTP_5XX_FAIL.search(s) is not None
            and "✘ RED" in s
            and "rollback advised" in s
        ),
        timeout=45,
        what="the stop point RED: '✘ FAIL' on the HTTP 5xx rate row, ✘ RED, 'ROLLBACK ADVISED'"
        " and NEXT saying so",
    )


def roll_back_and_quit(pane: TmuxPane) -> str:
    """R, then ROLLING BACK NOW, then the verdict, then q; returns the screen after exit."""
    pane.keys("R")
    pane.wait_for("ROLLING BACK NOW", timeout=5)
    pane.wait_for("ROLLED BACK — VERIFIED", timeout=75)
    pane.keys("q")  # after the end, q quits without a question
    status = pane.wait_exit(timeout=30)
    screen = pane.screen(history=True)
    assert status == 0, f"cockpit demo exited with {status}:\n{screen}"
    return screen


def check_journal(journal: Path) -> list[Record]:
    """``cockpit verify`` passes, and the journal tells the rollback in the right order."""
    done = subprocess.run(
        [str(COCKPIT), "verify", str(journal)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"cockpit verify: {done.stdout}{done.stderr}"
    records = read_journal(journal)
    kinds = [r.kind for r in records]

    def first(kind: str, purpose: str | None = None) -> int:
        for index, record in enumerate(records):
            if record.kind == kind and purpose in (None, record.body.get("purpose")):
                return index
        raise AssertionError(f"no {kind} {purpose or ''} in the journal: {kinds}")

    step_started = first("process.started", "step")
    advised = first("rollback.advised")
    rollback_started = first("rollback.started")
    rollback_process = first("process.started", "rollback")
    verified = first("rollback.verified")
    assert step_started < advised < rollback_started < rollback_process < verified, kinds
    assert records[rollback_started].body.get("automatic") is False  # R, not the 5-minute rule
    return records


def assert_nothing_left(run: DemoRun) -> None:
    assert run.service_pid is not None
    assert not _alive(run.service_pid), f"the demo service (pid {run.service_pid}) survived q"
    assert run.leftovers() == {}, f"processes left behind by the demo: {run.leftovers()}"


# ---------------------------------------------------------------- the tests


def test_demo_deploy_goes_red_and_rolls_back_at_120x40(demo_120x40: DemoRun) -> None:
    run, pane = demo_120x40, demo_120x40.pane
    run.start_run()
    red = drive_to_rollback_advised(run)
    assert re.search(r"⚠ ROLLBACK ADVISED at T\+\d\d:\d\d — press R", red)
    assert "✘ FAIL" in red
    assert "STOP POINT after deploy-v2" in red and "✘ RED" in red
    # With colour on, the screen does show hues (so the NO_COLOR test below can fail).
    assert chromatic_colours(pane.screen(escapes=True)) != []

    # A second terminal watches from here on: it replays the journal, then follows it.
    with TmuxPane(100, 30, name="cockpit-e2e-watch") as watcher:
        watcher.start([str(COCKPIT), "watch", "--sessions-dir", str(run.sessions_dir)], cwd=REPO)
        watching = watcher.wait_for("WATCHING", "ROLLBACK ADVISED", timeout=30)
        assert "read-only" in watching
        after = roll_back_and_quit(pane)
        watched = watcher.wait_for("ROLLED BACK — VERIFIED", "DEPLOYMENT-REPORT.md", timeout=30)
        assert "WATCHING" in watched
        watcher.keys("q")
        assert watcher.wait_exit(timeout=30) == 0, watcher.screen()
        assert "stopped watching" in watcher.screen(history=True)
    assert "session journal:" in after
    run.end_run()
    assert_nothing_left(run)
    check_journal(run.journal())


def test_demo_at_80x24_without_colour(demo_80x24: DemoRun) -> None:
    run, pane = demo_80x24, demo_80x24.pane
    run.start_run(no_color=True)
    first = pane.wait_for("BRIEFING", timeout=40)
    assert "PRODUCTION" in first
    red = drive_to_rollback_advised(run)
    for word in ("PRODUCTION", "FAIL", "ROLLBACK ADVISED", "RED"):
        assert word in red, f"{word!r} missing at 80x24:\n{red}"
    # The other rows may dip for a second during the switch to v2: wait for a PASS to show.
    pane.wait_until(
        lambda s: "PASS" in s,
        timeout=15,
        what="a PASS row at 80x24 (readiness and throughput pass on v2)",
    )
    codes = chromatic_colours(pane.screen(escapes=True))
    assert codes == [], f"NO_COLOR=1 but the screen shows hues: {sorted(set(codes))[:10]}"

    pane.keys("R")
    rolling = pane.wait_for("ROLLING BACK NOW", timeout=5)
    assert chromatic_colours(pane.screen(escapes=True)) == [], rolling
    pane.wait_for("ROLLED BACK — VERIFIED", timeout=75)
    pane.keys("q")
    assert pane.wait_exit(timeout=30) == 0, pane.screen()
    run.end_run()
    assert_nothing_left(run)
    check_journal(run.journal())


@pytest.fixture
def small_pane(tmux_ready: None) -> Iterator[TmuxPane]:
    with TmuxPane(60, 15, name="cockpit-e2e-small") as pane:
        yield pane


@pytest.fixture
def pane_120x40(tmux_ready: None) -> Iterator[TmuxPane]:
    with TmuxPane(120, 40, name="cockpit-e2e-bad") as pane:
        yield pane


def test_run_in_a_too_small_terminal_says_so_and_exits_2(small_pane: TmuxPane) -> None:
    # A profile that needs no environment: bad input is reported before the terminal's size.
    small_pane.start([str(COCKPIT), "run", "tests/data/session/quick.toml"], cwd=REPO)
    assert small_pane.wait_exit(timeout=30) == 2, small_pane.screen()
    screen = small_pane.screen(history=True)
    joined = "".join(screen.split())  # the message wraps at 60 columns, even inside a word
    assert "terminalis60x15" in joined, screen
    assert "80x24" in joined, screen
    assert "Traceback" not in screen, screen


def test_run_with_a_bad_profile_prints_the_error_and_exits_2(
    pane_120x40: TmuxPane, tmp_path: Path
) -> None:
    profile = tmp_path / "bad.toml"
    demo = (REPO / "profiles" / "demo.toml").read_text()
    profile.write_text(demo.replace("threshold = { below = 2 }", "threshold = { below = nan }", 1))
    sessions = tmp_path / "sessions"
    pane_120x40.start(
        [str(COCKPIT), "run", str(profile), "--sessions-dir", str(sessions)], cwd=tmp_path
    )
    assert pane_120x40.wait_exit(timeout=30) == 2, pane_120x40.screen()
    screen = pane_120x40.screen(history=True)
    flat = " ".join(screen.split())
    assert "error:" in flat, screen
    assert "bad.toml" in flat, screen
    assert "finite" in flat.lower() or "nan" in flat.lower(), screen
    assert "Traceback" not in screen, screen
    assert not list(tmp_path.glob("**/*.jsonl")), "a bad profile must not start a session"
    assert not sessions.exists() or not any(sessions.iterdir())


def test_closing_the_terminal_still_writes_the_record(demo_120x40: DemoRun) -> None:
    """SSH drops mid-briefing: the cockpit exits cleanly, the report is written, the demo stops."""
    run = demo_120x40
    run.start()
    run.pane.wait_for("read the rollback triggers back", timeout=60)
    run.pane.read_back()
    run.pane.wait_for("CHECKLIST", timeout=15)
    run.pane.close()  # the terminal goes away: SIGHUP
    journal = run.journal()
    report = journal.with_suffix("") / "DEPLOYMENT-REPORT.md"
    deadline = time.monotonic() + 30
    while not report.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert report.exists(), "no report after the terminal closed"
    assert "readback.confirmed" in journal.read_text()
    deadline = time.monotonic() + 30
    while run.leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not run.leftovers(), f"still running after the terminal closed: {run.leftovers()}"
    verified = subprocess.run(
        [str(COCKPIT), "verify", str(journal)], capture_output=True, text=True, check=False
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _state(pid: int) -> str:
    """The one-letter process state from /proc (T: stopped)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0]


def test_stop_and_continue_signals_leave_the_screen_working(demo_120x40: DemoRun) -> None:
    """SIGCONT arrives with every hang-up and after every ``fg``; it must not restart the
    terminal handling from inside a signal handler (each one used to start another input
    thread, and one arriving mid-write could deadlock the exit)."""
    run = demo_120x40
    run.start()
    run.pane.wait_for("read the rollback triggers back", timeout=60)
    pid = run.pane.program_pid()
    assert pid is not None
    before = _threads(pid)
    for _ in range(50):
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)  # apart, so that the kernel does not merge them into one
    # The bug added a thread per SIGCONT (50 here). A few come and go anyway while the first
    # checks run (measured: 3, 6, then 4 threads in the first second on a busy machine).
    assert _threads(pid) <= before + 8, f"{before} threads before SIGCONT, {_threads(pid)} after"
    # Suspended from outside, then `fg`: the terminal is given back and taken again.
    os.kill(pid, signal.SIGTSTP)
    deadline = time.monotonic() + 15
    while _state(pid) != "T" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _state(pid) == "T", "SIGTSTP did not suspend the cockpit"
    run.pane.wait_for("starting the demo service", timeout=15)  # the shell's screen is back
    os.kill(pid, signal.SIGCONT)
    run.pane.wait_for("read the rollback triggers back", timeout=15)
    run.pane.read_back()
    run.pane.wait_for("CHECKLIST", timeout=15)
    assert _threads(pid) <= before + 8, f"{before} threads before, {_threads(pid)} after"
    run.pane.keys("q")
    assert run.pane.wait_exit(timeout=30) == 0, run.pane.screen()
