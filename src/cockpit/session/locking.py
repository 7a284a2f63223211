"""The deploy lock of a live session: taken when it opens, kept after a rollback, released
when it ends well, and watched while it runs (an etcd lease can be lost).

What happens to the lock is recorded in the journal like everything else (``lock.*``
records). Losing the lock blocks new steps (the engine refuses them) and never the way
back: nothing on the rollback path waits for the lock or its store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cockpit.engine import SYSTEM, Event, Phase, Refusal, State
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.journal import Actor
from cockpit.lock import (
    HeldLock,
    LockError,
    LockHeld,
    LockStore,
    lock_keys,
    open_store,
    this_process,
)
from cockpit.profile import Profile

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.25
"""Seconds between looks at whether the lock is still held (an etcd lease renews itself)."""

Decide = Callable[[i.Intent], Any]


class SessionLock:
    """The locks one session holds, over one store.

    Attributes:
        store: Where the locks live.
        held: One lock per (service, environment) of the profile.
        lost: Why the lock is not held now (None while it is).
    """

    def __init__(self, store: LockStore, held: list[HeldLock]) -> None:
        self.store = store
        self.held = held
        self.lost: str | None = None
        self._ended = False
        self._pending: asyncio.Task[None] | None = None

    @classmethod
    def take(
        cls,
        profile: Profile,
        journal_path: Path,
        *,
        why: str,
        wall: float,
        take_over: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> SessionLock:
        """Take the locks of a session whose journal will be ``journal_path``.

        Raises:
            LockHeld: another session holds one (the message says who and what to do).
            LockError: the store cannot be used.
        """
        store = open_store(profile.lock, journal_path.parent, environ)
        holder = this_process(str(journal_path))
        try:
            held = store.acquire(lock_keys(profile), holder, why, take_over=take_over, wall=wall)
        except BaseException:
            store.close()  # refused: its connection to etcd is not left to the collector
            raise
        return cls(store, held)

    def details(self, *, again: bool = False) -> dict[str, Any]:
        """The body of the ``lock.taken`` record."""
        first = self.held[0].record
        body: dict[str, Any] = {
            "locks": [str(h.key) for h in self.held],
            "store": self.store.description,
            "holder": first.holder.to_json(),
            "since": first.since,
            "why": first.why,
            "taken_over": [h.taken_over.describe() for h in self.held if h.taken_over],
        }
        if again:
            body["again"] = True
        return body

    # ------------------------------------------------------------ as the session goes

    def effects(self, events: list[Event], state: State, decide: Decide) -> None:
        """After a rollback's verdict keep the lock; after a good end release it.

        The record is made first (the intent), then the store is written in the background
        (:meth:`drain` waits for it before the session closes).
        """
        if self._ended or not state.phase.finished or not any(e.kind in _ENDS for e in events):
            return
        self._ended = True
        at = state.finished or events[-1].wall
        write: Callable[[HeldLock], None]
        if state.phase in (Phase.ROLLED_BACK, Phase.NOT_VERIFIED):
            reason = state.rollback.reason if state.rollback else "rolled back"
            text = f"rolled back at {_utc(at)} UTC ({state.phase.value}), reason: {reason}"
            _quietly(decide, i.LockChanged(SYSTEM, at, "kept", {"text": text, "reason": reason}))

            def write(held: HeldLock) -> None:
                held.mark_rolled_back(at, reason)

        else:
            how = "session complete" if state.phase is Phase.COMPLETE else "session aborted"
            by = self.held[0].record.holder.user if self.held else "cockpit"
            _quietly(decide, i.LockChanged(SYSTEM, at, "released", {"by": by, "reason": how}))

            def write(held: HeldLock) -> None:
                held.release(by, how, at)

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write_all(write)
            return
        self._pending = loop.create_task(asyncio.to_thread(self._write_all, write))

    def quit(self, state: State, decide: Decide, wall: float) -> None:
        """The cockpit quits. Before execution nothing was deployed: the lock is released
        (a resume takes it again). After T0 it stays held: the steps may still run, and
        only a resume, or a crew that takes it over, may act on the service."""
        if self._ended or state.t0 is not None or state.phase.finished or not self.held:
            return
        self._ended = True
        by = self.held[0].record.holder.user
        how = "the cockpit quit before execution started: nothing was deployed"
        _quietly(decide, i.LockChanged(SYSTEM, wall, "released", {"by": by, "reason": how}))
        self._write_all(lambda held: held.release(by, how, wall))

    def _write_all(self, write: Callable[[HeldLock], None]) -> None:
        for held in self.held:
            try:
                write(held)
            except LockError as exc:
                log.error("lock store: %s", exc)

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) for the store to be written."""
        if self._pending is not None and not self._pending.done():
            await asyncio.wait([self._pending], timeout=timeout)

    async def watch(self, decide: Decide, clock_wall: Callable[[], float]) -> None:
        """Say at once when the lock is lost, and when it is held again; until cancelled."""
        while True:
            lost = next((why for h in self.held if (why := h.lost()) is not None), None)
            if lost != self.lost and not self._ended:
                if lost is not None:
                    _quietly(decide, i.LockChanged(SYSTEM, clock_wall(), "lost", {"reason": lost}))
                else:
                    _quietly(
                        decide,
                        i.LockChanged(SYSTEM, clock_wall(), "taken", self.details(again=True)),
                    )
                self.lost = lost
            await asyncio.sleep(WATCH_INTERVAL)

    def abandon(self, reason: str, wall: float) -> None:
        """The session never started (its journal could not be made): free what was taken."""
        for held in self.held:
            with contextlib.suppress(LockError):
                held.release(held.record.holder.user, reason, wall)
        self.close()

    def close(self) -> None:
        """Stop holding (the records stay as they are)."""
        for held in self.held:
            with contextlib.suppress(Exception):
                held.close()


_ENDS = {
    Kind.ROLLBACK_VERIFIED,
    Kind.ROLLBACK_NOT_VERIFIED,
    Kind.SESSION_COMPLETE,
    Kind.SESSION_ABORTED,
}


def _quietly(decide: Decide, intent: i.Intent) -> None:
    with contextlib.suppress(Refusal):
        decide(intent)


def _utc(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall))


def relock(
    recorder: Any, state: State, profile: Profile, journal_path: Path, wall: float
) -> SessionLock | None:
    """A resumed session takes its lock again (its own dead cockpit's is taken over). When it
    cannot, it says LOCK LOST and goes on: a resume may have a rollback to start, and
    nothing stands in the way back."""
    actor = Actor("operator", state.crew.get("operator", "operator"), None)
    try:
        lock = SessionLock.take(profile, journal_path, why=why_of(profile, actor), wall=wall)
    except (LockHeld, LockError) as exc:
        reason = exc.message if isinstance(exc, LockHeld) else str(exc)
        _quietly(recorder.decide, i.LockChanged(SYSTEM, wall, "lost", {"reason": reason}))
        return None
    _quietly(recorder.decide, i.LockChanged(SYSTEM, wall, "taken", lock.details(again=True)))
    return lock


def why_of(profile: Profile, actor: Actor) -> str:
    """What a session's lock says it is for."""
    return f"{profile.deployment.name} (run by {actor.user})"


__all__ = ["LockError", "LockHeld", "SessionLock", "why_of"]
