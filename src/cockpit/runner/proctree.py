"""Finding and killing process trees through ``/proc``.

Standard library only and free of package-relative imports: the detached
supervisor loads this file directly by path.

Killing the process group is not enough: a descendant may call ``setsid()``
and leave the group. Two nets catch those: the parent/child links in
``/proc/<pid>/stat`` (complete when the caller is a child subreaper, because
orphans then stay below it) and a tag variable in the environment that every
descendant inherits (catches orphans that went to init).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable

#: Environment variable carrying a per-run random tag into every descendant.
TAG_VARIABLE = "COCKPIT_RUN_TAG"


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name, or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses; it ends at the last ')'.
    return raw[raw.rfind(b")") + 2 :].decode("ascii", "replace").split()


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def is_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _table() -> dict[int, tuple[int, int]]:
    """Map every live (non-zombie) process id to (parent id, process group id)."""
    table: dict[int, tuple[int, int]] = {}
    for pid in _pids():
        fields = _stat_fields(pid)
        if fields is not None and len(fields) > 2 and fields[0] not in ("Z", "X"):
            table[pid] = (int(fields[1]), int(fields[2]))
    return table


def descendants(root: int, table: dict[int, tuple[int, int]] | None = None) -> set[int]:
    """All live descendants of ``root`` (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in (table if table is not None else _table()).items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def tagged(tag: str) -> set[int]:
    """Processes of this user whose environment carries ``TAG_VARIABLE=tag``."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    found: set[int] = set()
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
        except OSError:  # another user's process, or gone
            continue
        if needle in env.split(b"\0"):
            found.add(pid)
    return found


def signal_all(pids: Iterable[int], sig: int) -> None:
    """Send ``sig`` to each pid, ignoring those already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def signal_group(pgid: int, sig: int) -> None:
    """Send ``sig`` to a process group, ignoring a group that is gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def tree(
    root: int | None,
    pgid: int | None = None,
    tag: str | None = None,
    table: dict[int, tuple[int, int]] | None = None,
) -> set[int]:
    """Every live process of a run: ``root`` and its descendants, the group, the tagged.

    The calling process is never included.
    """
    if table is None:
        table = _table()
    pids: set[int] = set()
    if root is not None:
        pids |= descendants(root, table)
        if root in table:
            pids.add(root)
    if pgid is not None:
        pids |= {pid for pid, (_, group) in table.items() if group == pgid}
    if tag:
        pids |= tagged(tag) & table.keys()
    pids.discard(os.getpid())
    return pids


def kill_tree(
    root: int | None, pgid: int | None = None, tag: str | None = None, sig: int = signal.SIGKILL
) -> set[int]:
    """Signal the group and every other process of the run; return the pids found.

    The group gets one ``killpg`` (atomic, also catches a member forked while
    we scan), the others one ``kill`` each, so nobody gets a signal twice.
    For SIGKILL it scans again until a scan finds nobody new, because a
    process may fork between the scan and the kill.
    """
    found: set[int] = set()
    for _ in range(5 if sig == signal.SIGKILL else 1):
        table = _table()
        pids = tree(root, pgid, tag, table)
        if pgid is not None:
            signal_group(pgid, sig)
            signal_all({pid for pid in pids if table[pid][1] != pgid}, sig)
        else:
            signal_all(pids, sig)
        if not pids - found:
            break
        found |= pids
    return found
