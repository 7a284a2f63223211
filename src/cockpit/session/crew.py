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
    """The people in the session's roles, and where they sit.

    With the profile's ``[crew]`` (``uid`` set) the names are OS users and this terminal is
    the Operator's: its keys act as this OS user, whatever the role, and the engine holds
    the two-person rule by identity. Without it, one shared screen serves both roles.
    """

    operator: str
    monitor: str
    tty: str | None = None
    approvers: tuple[str, ...] = ()
    uid: int | None = None
    """This terminal's OS user, when the crew is named by OS users."""

    @property
    def by_identity(self) -> bool:
        """Whether every action carries the OS user who took it (``[crew]``)."""
        return self.uid is not None

    def actor(self, role: str) -> Actor:
        """The actor for an action taken through a role's keys."""
        if self.uid is not None:
            return Actor(role=role, user=self.operator, tty=self.tty, uid=self.uid)
        who = {"operator": self.operator, "monitor": self.monitor}.get(role, role)
        return Actor(role=role, user=who, tty=self.tty)

    def anyone(self) -> Actor:
        """Keys anyone may press: on a shared screen nobody can tell who, so the record
        says so ("ada or grace"); by identity, it is this terminal's user, the Operator."""
        if self.uid is not None:
            return self.actor("operator")
        return Actor(role="crew", user=f"{self.operator} or {self.monitor}", tty=self.tty)


def terminal() -> str | None:
    """This process's terminal, if it has one."""
    with contextlib.suppress(OSError):
        return os.ttyname(sys.stdin.fileno())
    return None


def os_user() -> str:
    """The OS user running the cockpit (its effective uid's name)."""
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return str(os.geteuid())
