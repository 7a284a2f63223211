"""Two people, two terminals, two OS users: the demo run by its crew, by identity.

The Operator's OS user runs ``cockpit demo --monitor USER`` in one tmux, the Monitor's OS
user joins with ``cockpit attach`` in another, and a third user tries to. The users are
created by the test's set-up when it runs as root (as CI does). Real demo service, real
sockets, real SO_PEERCRED, real SIGKILL; every wait is for words on a screen or a record in
the journal, with a deadline.

Cost: about 40-70 s (the readiness checks, the deploy, the rollback's verification).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.journal import Record, read_journal
from tests.support.demo import demo_profile_on_any_host
from tests.support.other_user import Crew, OtherUser, crew_of_users
from tests.support.tmux import TmuxPane

pytestmark = pytest.mark.e2e

GREEN_TIMEOUT = float(os.environ.get("COCKPIT_E2E_GREEN_TIMEOUT", "100"))


@pytest.fixture
def crew(tmux_ready: None) -> Iterator[Crew]:
    with crew_of_users() as made:
        yield made


def _records(sessions: Path) -> list[Record]:
    journals = sorted(sessions.glob("*.jsonl"))
    return read_journal(journals[-1], allow_torn_tail=True) if journals else []


def _wait_record(sessions: Path, kind: str, timeout: float = 30.0) -> Record:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in _records(sessions) if r.kind == kind]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no {kind} record within {timeout:.0f} s")


def _child_of(pid: int) -> int | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


class Terminal:
    """One crew member's tmux, running ``cockpit`` as their OS user."""

    def __init__(self, crew: Crew, user: OtherUser, env: dict[str, str], name: str) -> None:
        self.crew = crew
        self.user = user
        self.env = env
        self.pane = TmuxPane(120, 40, name=name)

    def start(self, *args: str) -> None:
        self.pane.start(self.crew.argv(self.user, *args), env=self.env, cwd=self.crew.base)

    def cockpit_pid(self) -> int:
        """The cockpit's own process: the child of ``runuser`` in the pane."""
        runuser = self.pane.program_pid()
        assert runuser is not None, self.pane.screen()
        child = _child_of(runuser)
        assert child is not None, "runuser has no child yet"
        return child

    def close(self) -> None:
        self.pane.close()


def test_two_users_run_the_demo_as_operator_and_monitor_by_identity(crew: Crew) -> None:
    base = crew.base
    runtime = base / "run"
    runtime.mkdir(mode=0o755)
    runtime.chmod(0o1777)  # root's, sticky: as root sets up /run/cockpit
    operator_home = base / "operator"
    operator_home.mkdir(mode=0o700)
    os.chown(operator_home, crew.operator.uid, -1)
    sessions = operator_home / "sessions"
    profile = demo_profile_on_any_host(base)
    profile.chmod(0o644)
    env = {**crew.env, "COCKPIT_RUNTIME_DIR": str(runtime), "TMPDIR": str(operator_home)}
    env["PATH"] = f"{env['PATH']}{os.pathsep}/usr/sbin{os.pathsep}/sbin"
    ada = Terminal(crew, crew.operator, env, "crew-operator")
    grace = Terminal(crew, crew.monitor, env, "crew-monitor")
    terminals = [ada, grace]

    def close_all() -> None:
        for terminal in terminals:
            terminal.close()

    with contextlib.ExitStack() as stack:
        stack.callback(close_all)
        ada.start(
            "demo",
            "--profile",
            str(profile),
            "--monitor",
            crew.monitor.name,
            "--sessions-dir",
            str(sessions),
        )
        ada.pane.wait_for("BRIEFING", f"waiting for {crew.monitor.name} to join", timeout=60)

        # A third user is refused by name, and the attempt is recorded.
        third = subprocess.run(
            crew.argv(crew.stranger, "attach", "demo-web"),
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert third.returncode == 2, third.stderr
        assert f"refused: {crew.stranger.name} is not in this session's crew" in third.stderr
        refused = _wait_record(sessions, "attach.refused")
        assert (refused.body["user"], refused.body["uid"]) == (
            crew.stranger.name,
            crew.stranger.uid,
        )

        grace.start("attach", "--role", "monitor")
        grace.pane.wait_for("MONITOR ", "read back the triggers", timeout=60)
        ada.pane.wait_for(f"in {crew.monitor.name}'s terminal", timeout=15)

        # The Operator's uid cannot confirm the Monitor's readback.
        ada.pane.keys("t")  # refused at once: no question is asked of the wrong person
        ada.pane.wait_for(f"two-person rule: {crew.operator.name} is the Operator", timeout=15)
        grace.pane.read_back()  # the question is asked in the Monitor's own terminal
        ada.pane.wait_for("CHECKLIST", timeout=15)
        ada.pane.keys("c")
        ada.pane.wait_until(
            lambda s: "Operator, give your GO" in s,
            timeout=GREEN_TIMEOUT,
            what="every readiness check GREEN",
        )
        ada.pane.keys("g")
        ada.pane.wait_for("Monitor, give your GO", timeout=15)
        grace.pane.keys("m")
        ada.pane.wait_for("EXECUTING", timeout=15)
        grace.pane.wait_for("EXECUTING", timeout=15)
        grace.pane.keys("v")
        _wait_record(sessions, "step.verified")
        ada.pane.keys("x")

        # The Monitor's client is killed in the middle of the step: nothing changes.
        starting = _wait_record(sessions, "step.starting")
        os.kill(grace.cockpit_pid(), signal.SIGKILL)
        left = _wait_record(sessions, "attach.left")
        assert left.seq > starting.seq
        finished = _wait_record(sessions, "step.finished", timeout=60)
        assert finished.body["ok"] is True, finished.body
        # ... and it joins again and catches up: the same phase as the Operator's screen.
        grace.close()
        grace = Terminal(crew, crew.monitor, env, "crew-monitor-again")
        terminals.append(grace)
        grace.start("attach")
        grace.pane.wait_for("MONITOR ", "ROLLBACK ADVISED", timeout=60)
        ada.pane.wait_for("ROLLBACK ADVISED", timeout=5)
        # The step's output file is the Operator's alone; the session sends its lines.
        screen = grace.pane.wait_for("ready: v2", timeout=15)
        assert "only its owner may read" not in screen

        # R in the Monitor's terminal rolls back; the journal names the Monitor.
        grace.pane.keys("R")
        ada.pane.wait_for("ROLLING BACK NOW", timeout=15)
        started = _wait_record(sessions, "rollback.started")
        actor = started.actor
        assert (actor.user, actor.uid, actor.role) == (
            crew.monitor.name,
            crew.monitor.uid,
            "monitor",
        )
        assert actor.tty is not None and actor.tty.startswith("/dev/pts/"), actor
        ada.pane.wait_until(
            lambda s: "ROLLED BACK — " in s, timeout=90, what="the rollback's verdict"
        )
        grace.pane.wait_until(
            lambda s: "ROLLED BACK — " in s, timeout=15, what="the verdict on the Monitor's"
        )

        # The session ends: the Monitor's terminal sees the verdict and exits cleanly.
        ada.pane.keys("q")
        assert grace.pane.wait_exit(timeout=30) == 0
        assert "verdict: ROLLED BACK" in grace.pane.screen(history=True)
        assert ada.pane.wait_exit(timeout=30) == 0

    records = _records(sessions)
    by_monitor = [r for r in records if r.actor.role == "monitor"]
    kinds = {r.kind for r in by_monitor}
    assert {"readback.confirmed", "go", "step.verified", "rollback.started"} <= kinds, kinds
    assert all(r.actor.uid == crew.monitor.uid for r in by_monitor if r.kind != "refused")
    [refused_readback] = [
        r for r in records if r.kind == "refused" and r.body["intent"] == "ConfirmReadback"
    ]
    assert refused_readback.actor.uid == crew.operator.uid
    assert "two-person rule" in refused_readback.body["reason"]
