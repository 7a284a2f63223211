"""Which process holds a lock: a pid and its start time, so a reused pid is never mistaken."""

from __future__ import annotations

import os
import pwd
import socket

from cockpit.lock.record import Holder


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (``/proc/PID/stat`` field 22), or
    None when no such process exists."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_alive(holder: Holder, *, host: str | None = None) -> bool | None:
    """Whether the holder's process still runs: None when it is on another host (unknown)."""
    if holder.host != (host or socket.gethostname()):
        return None
    started = start_time(holder.pid)
    return started is not None and holder.start in (0, started)


def user_name(uid: int) -> str:
    """The name of an OS user, or its number when it has none."""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def this_process(session: str) -> Holder:
    """The holder record for this process."""
    uid = os.geteuid()
    pid = os.getpid()
    return Holder(
        user=user_name(uid),
        uid=uid,
        host=socket.gethostname(),
        pid=pid,
        start=start_time(pid) or 0,
        session=session,
    )
