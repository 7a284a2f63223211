"""``cockpit sessions --attachable``: the live sessions on this host that you may join."""

from __future__ import annotations

import argparse
import contextlib
import os
import time

from cockpit.attach.places import Entry, all_entries
from cockpit.inert import inert, json_text
from cockpit.lock.process import user_name


def joinable(entries: list[Entry], user: str) -> list[tuple[Entry, list[str]]]:
    """The entries ``user`` may join, with the roles they may join as."""
    return [(e, roles) for e in entries if (roles := e.may_join(user))]


def attachable_command(args: argparse.Namespace) -> int:
    """List what the caller may join: exit 0 (also when nothing)."""
    me = user_name(os.geteuid())
    entries, problems = all_entries()
    found = joinable(entries, me)
    if args.json:
        doc = [
            {
                "session": e.id,
                "owner": e.owner,
                "deployment": e.deployment,
                "service": e.service,
                "environments": e.environments,
                "started": e.started,
                "roles": roles,
                "attach": f"cockpit attach --role {roles[0]} {e.id}",
            }
            for e, roles in found
        ]
        print(json_text(doc, indent=2))
        return 0
    lines: list[str] = []
    if not found:
        lines.append(inert(f"no running session on this host that {me} may join"))
    for entry, roles in found:
        started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(entry.started))
        lines.append(
            inert(
                f"{entry.id}  {entry.deployment} · {entry.service}"
                f" ({', '.join(entry.environments)}) · run by {entry.owner} since {started} UTC"
            )
        )
        lines.append(inert(f"  → you may join as {' or '.join(roles)}:"))
        lines += [inert(f"    cockpit attach --role {role} {entry.id}") for role in roles]
    lines += [f"! {inert(problem)}" for problem in problems]
    with contextlib.suppress(BrokenPipeError):
        print("\n".join(lines))
    return 0


__all__ = ["attachable_command", "joinable"]
