"""Who is in the session's roles, and where they sit."""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from dataclasses import dataclass

from cockpit.journal import Actor


@dataclass
class Crew:
    """The people in the session's roles, and where they sit."""

    operator: str
    monitor: str
    tty: str | None = None
    approvers: tuple[str, ...] = ()

    def actor(self, role: str) -> Actor:
        """The actor for an action taken through a role's keys."""
        who = {"operator": self.operator, "monitor": self.monitor}.get(role, role)
        return Actor(role=role, user=who, tty=self.tty)

    def anyone(self) -> Actor:
        """Keys anyone may press: on a shared screen nobody can tell who, so the record
        says so ("ada or grace")."""
        return Actor(role="crew", user=f"{self.operator} or {self.monitor}", tty=self.tty)


def terminal() -> str | None:
    """This process's terminal, if it has one."""
    with contextlib.suppress(OSError):
        return os.ttyname(sys.stdin.fileno())
    return None


def os_user() -> str:
    """The OS user running the cockpit."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
