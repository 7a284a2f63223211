"""The locks of this host, in words for ``cockpit sessions``."""

from __future__ import annotations

from cockpit.inert import inert
from cockpit.lock.process import is_alive
from cockpit.lock.record import HELD, ROLLED_BACK, LockRecord
from cockpit.lock.store import LockError, LockStore


def lock_lines(store: LockStore) -> list[str]:
    """Every lock that stops a session (held, or kept after a rollback), with what to do."""
    try:
        records = [r for r in store.records() if r.locked]
    except LockError as exc:
        return [inert(f"LOCKS: {exc}")]
    problems = list(getattr(store, "problems", []))
    if not records and not problems:
        return []
    lines = [f"LOCKS ({inert(store.description)})"]
    for record in records:
        lines.append(f"  {inert(record.describe())}")
        lines.append(f"    → {inert(_what_to_do(record))}")
    lines += [f"  ! {inert(p)}" for p in problems]
    return lines


def _what_to_do(record: LockRecord) -> str:
    h = record.holder
    if record.state == ROLLED_BACK:
        return (
            f"release it when the service is sound: cockpit unlock {record.key.service}"
            f" --environment {record.key.environment} --reason TEXT"
        )
    alive = is_alive(h)
    if record.state == HELD and alive is False:
        return (
            f"its cockpit is gone: cockpit run --resume {h.session} (as {h.user}),"
            " or cockpit run --take-over PROFILE"
        )
    session_id = h.session.rsplit("/", 1)[-1].removesuffix(".jsonl")
    return f"watch: cockpit watch {h.session} (as {h.user}) · join: cockpit attach {session_id}"
