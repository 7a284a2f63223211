"""The deploy lock in a real etcd (Debian's etcd-server on a loopback port): two cockpits
contend and one wins; a holder killed with SIGKILL loses the lock when its lease runs out;
etcd stopped in the middle of a session shows LOCK LOST at once, blocks the next step, and
never the rollback.

Cost: about 10 s (etcd starts in under a second; the lease's TTL here is 4 s).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from cockpit.engine import Phase, Refusal
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.journal import read_journal
from cockpit.lock import LockHeld, LockKey
from cockpit.lock.etcd import EtcdLocks
from cockpit.lock.process import start_time
from cockpit.lock.record import Holder
from cockpit.profile.models import Lock
from cockpit.session import Session
from tests.support.demo import run_cockpit
from tests.support.etcd import EtcdServer, etcd_server
from tests.support.processes import wait_for
from tests.support.quick import error_rate_sample, run_the_first_step

QUICK = Path(__file__).resolve().parents[1] / "data" / "session" / "quick.toml"
HOLDER = Path(__file__).resolve().parents[1] / "support" / "lock_holder.py"
ROOT = Path(__file__).resolve().parents[2]
KEY = LockKey("quick", "production")
TTL = "4s"  # long enough that a busy machine still renews it in time


@pytest.fixture(scope="module")
def etcd() -> Iterator[EtcdServer]:
    with etcd_server() as server:
        yield server


@pytest.fixture
def profile(tmp_path: Path, etcd: EtcdServer) -> Path:
    """quick.toml with its lock in etcd (a prefix of its own per test) and a second step."""
    data = tomllib.loads(QUICK.read_text())
    data["lock"] = {
        "backend": "etcd",
        "endpoints": [etcd.url],
        "ttl": TTL,
        "timeout": "2s",
        "prefix": f"/cockpit-test/{tmp_path.name}/",
    }
    first = data["stages"][0]["steps"][0]
    data["stages"][0]["steps"].append({**first, "id": "finish", "title": "Finish"})
    path = tmp_path / "quick-etcd.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def holder(profile: Path, sessions: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HOLDER), str(profile), str(sessions)],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_two_cockpits_contend_and_one_wins_then_the_dead_ones_lease_runs_out(
    profile: Path, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    contenders = [holder(profile, sessions), holder(profile, sessions)]
    try:
        lines = [p.stdout.readline() if p.stdout else "" for p in contenders]
        assert sorted(line.split(" ", 1)[0] for line in lines) == ["journal", "refused"], lines
        winner = contenders[[line.startswith("journal") for line in lines].index(True)]
        loser = contenders[[line.startswith("refused") for line in lines].index(True)]
        assert loser.wait(timeout=30) == 3
        assert f"(pid {winner.pid})" in lines[contenders.index(loser)]
        with pytest.raises(LockHeld, match=rf"held by .*\(pid {winner.pid}\)"):
            Session.create(profile, sessions_dir=sessions, environ={}, take_over=True)

        winner.send_signal(signal.SIGKILL)
        winner.wait(timeout=10)
        # Until its lease runs out, the killed holder still holds it: then it is gone.
        store = EtcdLocks(Lock.model_validate(tomllib.loads(profile.read_text())["lock"]))
        asyncio.run(wait_for(lambda: store.running(KEY) is None, 20, "the lease to run out"))
        with pytest.raises(LockHeld, match="its etcd lease ran out"):
            Session.create(profile, sessions_dir=sessions, environ={})
        session = Session.create(profile, sessions_dir=sessions, environ={}, take_over=True)
        try:
            taken = [r for r in read_journal(session.journal_path) if r.kind == Kind.LOCK_TAKEN]
            assert f"(pid {winner.pid})" in taken[0].body["taken_over"][0]
            assert taken[0].body["store"] == f"etcd at {store.config.endpoints[0]}"
        finally:
            asyncio.run(session.close())
    finally:
        for process in contenders:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_cockpit_that_loses_the_race_by_a_moment_is_told_who_won(profile: Path) -> None:
    """Both read the lock free; the other's transaction lands first. The loser decides again
    from what etcd holds now, so its refusal names the winner (it said "try again")."""
    config = Lock.model_validate(tomllib.loads(profile.read_text())["lock"])
    me, other = EtcdLocks(config), EtcdLocks(config)
    start = start_time(os.getpid()) or 0
    winner = Holder("grace", 0, "bastion-b", os.getpid(), start, "/sessions/b.jsonl")
    loser = Holder("ada", 0, "bastion-a", os.getpid(), start, "/sessions/a.jsonl")
    real_txn = me.etcd.txn
    raced: list[bool] = []

    def txn(compare: list[dict[str, object]], success: list[dict[str, object]]) -> bool:
        if not raced:  # the first time only: the other cockpit got there in between
            raced.append(True)
            other.acquire([KEY], winner, "deploy b", take_over=False, wall=time.time())
        return real_txn(compare, success)

    me.etcd.txn = txn  # type: ignore[method-assign]
    with pytest.raises(LockHeld, match=r"held by grace@bastion-b \(pid \d+\)"):
        me.acquire([KEY], loser, "deploy a", take_over=False, wall=time.time())
    assert raced


async def test_etcd_stopped_mid_session_blocks_the_next_step_never_the_rollback(
    profile: Path, tmp_path: Path, etcd: EtcdServer
) -> None:
    session = Session.create(profile, sessions_dir=tmp_path / "sessions", environ={})
    clock = asyncio.get_running_loop().create_task(session.run_clock())
    try:
        now = session.clock.wall
        op, mon = session.crew.actor("operator"), session.crew.actor("monitor")
        await run_the_first_step(session)
        for _ in range(3):
            error_rate_sample(session)
        assert session.state.steps[0].stop_point_passed
        await session.act(i.VerifyStep(mon, now(), "finish"))

        etcd.stop()
        await wait_for(lambda: Kind.LOCK_LOST in _kinds(session), 5, "LOCK LOST")
        lock = session.state.lock
        assert lock is not None and lock.lost is not None and "etcd unreachable" in lock.lost
        with pytest.raises(Refusal, match="LOCK LOST"):
            await session.act(i.RunStep(op, now(), "finish"))
        await session.act(i.RollBackNow(mon, now(), "R pressed while etcd is away"))
        rollback = session.state.rollback
        assert rollback is not None and rollback.commands[0].pid is not None

        etcd.start()  # back: the lease survived (etcd keeps it), the lock is held again
        await wait_for(
            lambda: session.state.lock is not None and session.state.lock.held, 20, "held again"
        )
        await wait_for(lambda: session.state.phase is Phase.VERIFYING, 30, "the rollback")
        for _ in range(3):
            error_rate_sample(session)
        assert session.state.phase is Phase.ROLLED_BACK
        await session.stop()
        store = EtcdLocks(Lock.model_validate(tomllib.loads(profile.read_text())["lock"]))
        [record] = store.records()
        assert record.state == "rolled back" and "R pressed while etcd" in str(record.reason)
    finally:
        clock.cancel()
        await asyncio.gather(clock, return_exceptions=True)
        await session.close()
    kinds = _kinds(session)
    assert kinds.index(Kind.LOCK_LOST) < kinds.index(Kind.ROLLBACK_STARTED)
    assert Kind.LOCK_KEPT in kinds
    # Released through the profile's [lock]; the release is recorded in the journal.
    done = run_cockpit("unlock", "quick", "--profile", str(profile), "--reason", "v1 sound")
    assert done.returncode == 0, done.stderr
    assert read_journal(session.journal_path)[-1].kind == Kind.LOCK_RELEASED
    again = Session.create(profile, sessions_dir=tmp_path / "sessions", environ={})
    await again.close()


def _kinds(session: Session) -> list[str]:
    return [r.kind for r in read_journal(session.journal_path)]


def test_a_cockpit_refused_the_lock_leaves_no_connection_to_etcd_open(profile: Path) -> None:
    """The refused start closes its client to etcd, not the garbage collector (a socket a
    refusal, with a ResourceWarning)."""
    import gc
    import warnings

    sessions = profile.parent / "sessions"
    first = Session.create(profile, sessions_dir=sessions, environ={})
    try:
        gc.collect()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            for _ in range(3):
                with pytest.raises(LockHeld):
                    Session.create(profile, sessions_dir=sessions, environ={})
            gc.collect()
        assert [str(w.message) for w in caught if w.category is ResourceWarning] == []
    finally:
        asyncio.run(first.close())
