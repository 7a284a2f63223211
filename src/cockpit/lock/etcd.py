"""The deploy lock in etcd, for crews on several hosts: a key bound to a lease the session
keeps alive, through etcd's v3 JSON gateway (httpx, already a dependency).

Two keys per lock, under the profile's prefix:

- ``<prefix><service>@<environment>``, bound to the session's lease: it exists while a live
  session holds the lock. A holder that dies stops renewing; etcd deletes the key when the
  lease's TTL runs out, and the lock can be taken (the takeover is recorded).
- ``<prefix><service>@<environment>/state``, with no lease: the last record (held, rolled
  back, released). A lock kept after a rollback lives here, until ``cockpit unlock``.

Every change is one transaction that compares what was read, so two cockpits that contend
cannot both win. The lease is renewed by a thread of its own (never on the event loop);
when a renewal fails, the lock counts as lost at once (LOCK LOST: new steps wait), and it is
held again as soon as etcd answers and the lease (or a new one) still holds the key.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import threading
from typing import Any

from cockpit.lock.process import is_alive
from cockpit.lock.record import (
    HELD,
    RECORD_LIMIT,
    RELEASED,
    ROLLED_BACK,
    Holder,
    LockKey,
    LockRecord,
    LockRecordError,
    decode_record,
)
from cockpit.lock.store import HeldLock, LockError, LockHeld, refusal
from cockpit.profile.models import Lock

RENEW_EVERY = 1.0
"""Seconds between renewals at most (a third of the TTL when that is shorter)."""


def _b64(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return base64.b64encode(data).decode("ascii")


RACE_ATTEMPTS = 3
"""How often taking the locks is decided again after losing a race for them."""


class Etcd:
    """A few calls of etcd's v3 JSON gateway, over the profile's endpoints in turn."""

    def __init__(self, config: Lock) -> None:
        import httpx

        self.config = config
        verify: Any = config.ca_file or True
        cert = (config.cert_file, config.key_file) if config.cert_file and config.key_file else None
        try:
            self._client = httpx.Client(timeout=config.timeout, verify=verify, cert=cert)
        except (OSError, ValueError) as exc:
            raise LockError(f"etcd TLS settings: {exc}") from None
        self._lock = threading.Lock()

    def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST ``body`` to ``/v3/<path>`` on the first endpoint that answers.

        Raises:
            LockError: no endpoint answered, or the answer is not what etcd says.
        """
        import httpx

        problems = []
        for endpoint in self.config.endpoints:
            url = f"{endpoint.rstrip('/')}/v3/{path}"
            try:
                with self._lock:
                    response = self._client.post(url, json=body)
            except httpx.HTTPError as exc:
                problems.append(f"{endpoint}: {type(exc).__name__}: {exc}".rstrip(": "))
                continue
            if response.status_code != 200:
                problems.append(f"{endpoint}: HTTP {response.status_code}")
                continue
            if len(response.content) > 4 * RECORD_LIMIT * 16:
                raise LockError(f"{endpoint}: an answer larger than a lock's")
            try:
                answer = response.json()
            except ValueError:
                raise LockError(f"{endpoint}: answered something that is not JSON") from None
            if not isinstance(answer, dict):
                raise LockError(f"{endpoint}: answered {type(answer).__name__}, not an object")
            return answer
        raise LockError("etcd unreachable: " + "; ".join(problems))

    def get(self, key: str) -> tuple[bytes | None, int]:
        """A key's value and its mod revision (None, 0 when missing)."""
        answer = self.call("kv/range", {"key": _b64(key)})
        kvs = answer.get("kvs") or []
        if not kvs:
            return None, 0
        kv = kvs[0]
        try:
            return base64.b64decode(str(kv.get("value", ""))), int(kv.get("mod_revision", 0))
        except ValueError:
            raise LockError(f"etcd: the value of {key} is not base64") from None

    def prefixed(self, prefix: str) -> list[tuple[str, bytes]]:
        """Every key and value under ``prefix``."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        answer = self.call("kv/range", {"key": _b64(prefix), "range_end": _b64(end)})
        out = []
        for kv in answer.get("kvs") or []:
            try:
                out.append(
                    (
                        base64.b64decode(str(kv["key"])).decode("utf-8", "replace"),
                        base64.b64decode(str(kv.get("value", ""))),
                    )
                )
            except (KeyError, ValueError):
                continue
        return out

    def txn(self, compare: list[dict[str, Any]], success: list[dict[str, Any]]) -> bool:
        """Do ``success`` only if every ``compare`` holds; whether it did."""
        answer = self.call("kv/txn", {"compare": compare, "success": success})
        return bool(answer.get("succeeded"))

    def grant(self, ttl: float) -> str:
        answer = self.call("lease/grant", {"TTL": max(1, round(ttl))})
        lease = str(answer.get("ID", ""))
        if not lease.isdigit() or answer.get("error"):
            raise LockError(f"etcd granted no lease: {answer.get('error') or answer}")
        return lease

    def keep_alive(self, lease: str) -> int:
        """Renew a lease once; its TTL now (0: it expired)."""
        answer = self.call("lease/keepalive", {"ID": lease})
        result = answer.get("result") or {}
        try:
            return int(result.get("TTL", 0))
        except (TypeError, ValueError):
            return 0

    def revoke(self, lease: str) -> None:
        self.call("lease/revoke", {"ID": lease})

    def close(self) -> None:
        self._client.close()


def _put(key: str, value: bytes, lease: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"key": _b64(key), "value": _b64(value)}
    if lease is not None:
        request["lease"] = lease
    return {"request_put": request}


def _delete(key: str) -> dict[str, Any]:
    return {"request_delete_range": {"key": _b64(key)}}


def _absent(key: str) -> dict[str, Any]:
    return {"key": _b64(key), "target": "CREATE", "result": "EQUAL", "create_revision": "0"}


def _unchanged(key: str, revision: int) -> dict[str, Any]:
    if revision == 0:
        return _absent(key)
    return {"key": _b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": str(revision)}


class EtcdLocks:
    """Locks in etcd (see the module's docstring)."""

    def __init__(self, config: Lock) -> None:
        self.config = config
        self.etcd = Etcd(config)
        self.description = f"etcd at {', '.join(config.endpoints)}"
        self.problems: list[str] = []

    def close(self) -> None:
        """Close the connections to etcd (a session that was refused the lock)."""
        self.etcd.close()

    def _keys(self, key: LockKey) -> tuple[str, str]:
        lock = f"{self.config.prefix}{key.name}"
        return lock, f"{lock}/state"

    def _record(self, data: bytes | None, where: str) -> LockRecord | None:
        if data is None:
            return None
        try:
            return decode_record(data, where=where)
        except LockRecordError as exc:
            self.problems.append(str(exc))
            return None

    def read(self, key: LockKey) -> tuple[LockRecord | None, int, LockRecord | None, int]:
        """The live holder's record (and revision), and the state record (and revision)."""
        lock_key, state_key = self._keys(key)
        live, live_rev = self.etcd.get(lock_key)
        state, state_rev = self.etcd.get(state_key)
        return (
            self._record(live, lock_key),
            live_rev,
            self._record(state, state_key),
            state_rev,
        )

    def acquire(
        self, keys: list[LockKey], holder: Holder, why: str, *, take_over: bool, wall: float
    ) -> list[HeldLock]:
        """Take every key or none, in one transaction (see ``LockStore.acquire``)."""
        lease = self.etcd.grant(self.config.ttl)
        taken: list[tuple[LockKey, LockRecord, LockRecord | None]] = []
        try:
            # A transaction lost to another cockpit at the same moment is decided again from
            # what etcd holds now: the refusal then names the cockpit that won.
            for _ in range(RACE_ATTEMPTS):
                compare: list[dict[str, Any]] = []
                success: list[dict[str, Any]] = []
                taken = []
                for key in sorted(set(keys)):
                    lock_key, state_key = self._keys(key)
                    live, live_rev, state, state_rev = self.read(key)
                    previous = None
                    if live_rev:
                        # A live lease holds it; only this session's own dead cockpit may be
                        # taken over before the lease runs out (a resume on the same host).
                        owner = live or state
                        same = owner is not None and owner.holder.session == holder.session
                        if not (same and owner is not None and is_alive(owner.holder) is False):
                            shown = owner or _unknown(key)
                            raise LockHeld(shown, refusal(shown, alive=True, where=""))
                        previous = owner
                        compare.append(_unchanged(lock_key, live_rev))
                    else:
                        compare.append(_absent(lock_key))
                    if state is not None and state.state == ROLLED_BACK:
                        raise LockHeld(state, refusal(state, alive=None, where=""))
                    if state is not None and state.state == HELD and previous is None:
                        # Its lease ran out: the holder is gone. Taken over when asked (or by
                        # the same session's resume), as a lock file's dead holder is.
                        if not (take_over or state.holder.session == holder.session):
                            where = f"its etcd lease ran out ({self.config.ttl:g}s TTL)"
                            raise LockHeld(state, refusal(state, alive=False, where=where))
                        previous = state
                    compare.append(_unchanged(state_key, state_rev))
                    record = LockRecord(
                        key=key, state=HELD, holder=holder, since=wall, why=why, written=wall
                    )
                    success += [
                        _put(lock_key, record.encode(), lease),
                        _put(state_key, record.encode()),
                    ]
                    taken.append((key, record, previous))
                if self.etcd.txn(compare, success):
                    break
            else:
                raise LockHeld(None, "another cockpit took the lock at the same moment; try again")
        except BaseException:
            with contextlib.suppress(LockError):  # else it expires by itself
                self.etcd.revoke(lease)
            raise
        shared = Lease(self.etcd, lease, self.config)
        return [EtcdHeldLock(self, shared, key, record, prev) for key, record, prev in taken]

    def records(self) -> list[LockRecord]:
        """Every lock's state record."""
        self.problems = []
        out = []
        for name, value in self.etcd.prefixed(self.config.prefix):
            if name.endswith("/state"):
                record = self._record(value, name)
                if record is not None:
                    out.append(record)
        return sorted(out, key=lambda r: r.key)

    def running(self, key: LockKey) -> LockRecord | None:
        """The record of a live session holding ``key``: its lease still holds the key."""
        live, live_rev, state, _ = self.read(key)
        return (live or state or _unknown(key)) if live_rev else None

    def unlock(self, key: LockKey, by: str, reason: str, wall: float) -> LockRecord:
        """Free a lock whose session is over (see ``LockStore.unlock``)."""
        lock_key, state_key = self._keys(key)
        live, live_rev, state, state_rev = self.read(key)
        if live_rev:
            shown = live or state or _unknown(key)
            raise LockHeld(shown, f"{shown.describe()}: its session is running")
        if state is None or not state.locked:
            raise LockHeld(state, f"{key} is not locked")
        released = dataclasses.replace(state, state=RELEASED, written=wall, reason=reason, by=by)
        compare = [_absent(lock_key), _unchanged(state_key, state_rev)]
        if not self.etcd.txn(compare, [_put(state_key, released.encode())]):
            raise LockHeld(state, f"{key} changed meanwhile; look again")
        return state


def _unknown(key: LockKey) -> LockRecord:
    nobody = Holder("?", 0, "?", 0, 0, "?")
    return LockRecord(key, HELD, nobody, 0.0, "a record that cannot be read", 0.0)


class Lease:
    """The session's lease, renewed by a thread; says why it is lost, at once."""

    def __init__(self, etcd: Etcd, lease: str, config: Lock) -> None:
        self.etcd = etcd
        self.id = lease
        self.config = config
        self.lost: str | None = None
        self.renewals = 0
        self.holders = 0
        """Locks still bound to this lease: it is revoked when the last one lets go."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="cockpit-lease", daemon=True)
        self.regain: Any = None
        """Called (in the thread) with a new lease id once an expired lease is replaced."""
        self._thread.start()

    def _renew(self) -> None:
        every = min(RENEW_EVERY, self.config.ttl / 3)
        while not self._stop.wait(every):
            try:
                ttl = self.etcd.keep_alive(self.id)
            except LockError as exc:
                self.lost = str(exc)
                continue
            if ttl > 0:
                self.lost = None
                self.renewals += 1
                continue
            self.lost = "the lease expired: etcd deleted the lock"
            if self.regain is not None:
                try:
                    self.id = self.regain()
                    self.lost = None
                except (LockError, LockHeld) as exc:
                    self.lost = f"the lease expired, and {getattr(exc, 'message', exc)}"

    def stop(self, *, revoke: bool) -> None:
        self._stop.set()
        if revoke:
            with contextlib.suppress(LockError):
                self.etcd.revoke(self.id)

    def let_go(self) -> None:
        """One lock no longer needs the lease; the last one revokes it."""
        self.holders -= 1
        if self.holders <= 0:
            self.stop(revoke=True)


class EtcdHeldLock:
    """A lock this session holds in etcd."""

    def __init__(
        self,
        store: EtcdLocks,
        lease: Lease,
        key: LockKey,
        record: LockRecord,
        taken_over: LockRecord | None,
    ) -> None:
        self.store = store
        self.lease = lease
        self.key = key
        self.record = record
        self.taken_over = taken_over
        lease.holders += 1
        lease.regain = self._take_again

    def _take_again(self) -> str:
        """After the lease expired (etcd was away longer than the TTL): a new lease, if
        nobody else took the lock meanwhile."""
        etcd = self.store.etcd
        lock_key, state_key = self.store._keys(self.key)
        lease = etcd.grant(self.store.config.ttl)
        _, live_rev, state, state_rev = self.store.read(self.key)
        if live_rev or (state is not None and state.holder != self.record.holder):
            etcd.revoke(lease)
            who = state.describe() if state is not None else "someone holds it"
            raise LockHeld(state, f"another session took it: {who}")
        compare = [_absent(lock_key), _unchanged(state_key, state_rev)]
        data = self.record.encode()
        if not etcd.txn(compare, [_put(lock_key, data, lease), _put(state_key, data)]):
            etcd.revoke(lease)
            raise LockHeld(None, "another session took it")
        return lease

    def mark_rolled_back(self, at: float, reason: str) -> None:
        """Keep it, with no lease: ``rolled back at …`` until ``cockpit unlock``."""
        lock_key, state_key = self.store._keys(self.key)
        kept = dataclasses.replace(
            self.record, state=ROLLED_BACK, rolled_back_at=at, reason=reason, written=at
        )
        self.store.etcd.txn([], [_put(state_key, kept.encode()), _delete(lock_key)])
        self.record = kept
        self.lease.let_go()

    def release(self, by: str, reason: str, wall: float) -> None:
        """Free it."""
        lock_key, state_key = self.store._keys(self.key)
        released = dataclasses.replace(
            self.record, state=RELEASED, reason=reason, by=by, written=wall
        )
        self.store.etcd.txn([], [_put(state_key, released.encode()), _delete(lock_key)])
        self.record = released
        self.lease.let_go()

    def lost(self) -> str | None:
        """Why the lease cannot be shown to hold the lock now (None while it does)."""
        if self.record.state != HELD:
            return None
        return self.lease.lost

    def close(self) -> None:
        """Stop renewing: a session still running keeps the key until its TTL runs out."""
        self.lease.stop(revoke=False)


__all__ = ["EtcdLocks"]
