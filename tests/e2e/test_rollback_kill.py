"""R survives the cockpit's death: SIGKILL it 0-50 ms after R in real tmux, resume, and the
rollback has run exactly once and has a verdict.

Each run starts from the same real journal (a session written by the real writer up to its
health window), copied: the cockpit resumes it in tmux, R is pressed, the cockpit is killed
after a set delay, and a second cockpit resumes the journal. Whatever the delay, the rollback
command (which appends a line to a file each time it runs) must have run exactly once, and
the session must end ROLLED BACK — VERIFIED. Where the kill came before the cockpit even
read the key (nothing recorded), the crew presses R again in the resumed cockpit, as a person
would, and the rule is the same: exactly once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from cockpit.journal import read_journal
from cockpit.journal.anchors import anchors_path_for
from tests.support.rollback import prepare_health, work_dir
from tests.support.tmux import TmuxPane

pytestmark = pytest.mark.e2e

COCKPIT = Path(sys.executable).parent / "cockpit"
DELAYS_MS = tuple(int(d) for d in os.environ.get("KILL_DELAYS", "0,1,2,5,10,20,50").split(","))
ROUNDS = int(os.environ.get("KILL_ROUNDS", "5"))
"""Runs per delay: 35 in all."""
VERDICT = "ROLLED BACK — VERIFIED"


@pytest.fixture(scope="module")
def base_journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kill-base")
    return asyncio.run(prepare_health(root, work_dir(root)))


@dataclass
class Run:
    """One kill: its own copy of the journal, its own work directory."""

    delay_ms: int
    root: Path

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def journal(self) -> Path:
        return self.root / "session.jsonl"

    def env(self) -> dict[str, str]:
        return {"KILL_DIR": str(self.work), "TERM": "xterm-256color"}

    def kinds(self) -> list[str]:
        return [r.kind for r in read_journal(self.journal, allow_torn_tail=True)]


def _copy(base: Path, run: Run) -> None:
    work_dir(run.root)
    shutil.copyfile(base, run.journal)
    shutil.copyfile(anchors_path_for(base), anchors_path_for(run.journal))
    os.chmod(run.journal, 0o600)


def _resumed(run: Run) -> TmuxPane:
    pane = TmuxPane(120, 40, name=f"kill-{run.delay_ms}")
    pane.start([str(COCKPIT), "run", "--resume", str(run.journal)], env=run.env(), cwd=run.root)
    return pane


def _kill_after_r(run: Run) -> None:
    """Resume, press R, SIGKILL the cockpit ``delay_ms`` after the key was sent."""
    with _resumed(run) as pane:
        pane.wait_for("HEALTH WINDOW", "ROLL BACK NOW", timeout=30)
        # Press R once the cockpit is in its steady state (its loops run: it has flushed
        # samples), not while it is still busy starting: the delays are measured from there.
        deadline = time.monotonic() + 30
        while run.kinds()[-1] != "samples":
            assert time.monotonic() < deadline, "the resumed cockpit never sampled"
            time.sleep(0.05)
        pid = pane.program_pid()
        assert pid is not None
        pane.keys("R")
        due = time.monotonic() + run.delay_ms / 1000
        while time.monotonic() < due:  # the delay is what is tested: spin, do not oversleep
            pass
        os.kill(pid, signal.SIGKILL)
        assert pane.wait_exit(timeout=15) == 128 + signal.SIGKILL


def _resume_to_verdict(run: Run) -> str:
    """Resume after the kill; press R only if the dead cockpit had not recorded it."""
    recorded = "rollback.started" in run.kinds()
    with _resumed(run) as pane:
        if not recorded:
            pane.wait_for("HEALTH WINDOW", "ROLL BACK NOW", timeout=30)
            pane.keys("R")
        screen = pane.wait_for(VERDICT, timeout=60)
        pane.keys("q")
        pane.wait_exit(timeout=15)
    return screen


def _left_behind(kinds: list[str]) -> str:
    """What the killed cockpit had recorded of the rollback."""
    if "rollback.started" not in kinds:
        return "nothing"
    after = kinds[kinds.index("rollback.started") :]
    if "process.started" not in after:
        return "the intent only"
    return "the process too"


def _one(base: Path, run: Run) -> tuple[str, str]:
    """Kill, resume; return what the kill left behind and the problems found (or "")."""
    _copy(base, run)
    _kill_after_r(run)
    left = _left_behind(run.kinds())
    _resume_to_verdict(run)
    runs = (run.work / "rollback-runs").read_text().splitlines()
    kinds = run.kinds()
    problems = []
    if len(runs) != 1:
        problems.append(f"the rollback command ran {len(runs)} times")
    if kinds.count("rollback.started") != 1:
        problems.append(f"{kinds.count('rollback.started')} rollback.started records")
    if "rollback.verified" not in kinds:
        problems.append("no rollback.verified record")
    return left, (f"{run.delay_ms} ms (left {left}): " + "; ".join(problems) if problems else "")


@pytest.fixture
def runs(tmp_path: Path) -> list[Run]:
    return [
        Run(delay, tmp_path / f"run-{delay}ms-{n}") for n in range(ROUNDS) for delay in DELAYS_MS
    ]


def test_sigkill_right_after_r_never_loses_or_repeats_the_rollback(
    tmux_ready: None, base_journal: Path, runs: list[Run]
) -> None:
    # Two at a time: each run spends most of its time waiting for a screen.
    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda run: _one(base_journal, run), runs))
    seen = Counter(left for left, _ in outcomes)
    print(f"{len(runs)} kills; the killed cockpit had recorded: {dict(seen)}")
    failures = [problem for _, problem in outcomes if problem]
    assert failures == [], f"{len(failures)} of {len(runs)} runs failed:\n" + "\n".join(failures)
