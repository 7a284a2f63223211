"""``cockpit attach``: join a running session from your own terminal; and the attach socket
that ``cockpit run`` serves beside its screen."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
from collections.abc import Callable, Coroutine
from typing import Any

from cockpit.attach.places import Entry, PlaceRefused, all_entries, owner_directory
from cockpit.inert import inert
from cockpit.lock.process import user_name
from cockpit.session import Session
from cockpit.ui.launch import _say, _terminal_ok

Service = Callable[[], Coroutine[Any, Any, None]]


def attach_directory() -> str | None:
    """Make (or check) this user's socket directory; the reason it cannot be used, or None."""
    from cockpit.attach.places import prepare_directory

    try:
        prepare_directory(owner_directory())
    except PlaceRefused as exc:
        return str(exc)
    except OSError as exc:
        return f"attach directory {owner_directory()}: {exc}"
    return None


def serving(session: Session) -> tuple[Service, Callable[[Any], None]]:
    """The attach socket as a service for the app, and how it tells the screen who it
    refused (call the second with the app).

    The server is imported and built when the service starts, after the first frame (the app
    starts its services in ``on_ready``): about 0.02 s less on the first frame's path.
    """
    screen: list[Any] = []

    def refused(text: str) -> None:
        for app in screen:
            app.notify(inert(text), title="ATTACH REFUSED", severity="warning", timeout=15)

    async def serve() -> None:
        # Imported on a thread: the event loop stays free for R meanwhile.
        await asyncio.to_thread(importlib.import_module, "cockpit.attach.server")
        from cockpit.attach.server import AttachServer

        server = AttachServer(session, owner_directory())
        server.on_refused = refused
        await server.serve()

    def tell(app: Any) -> None:
        screen[:] = [app]

    return serve, tell


def _choose(session_arg: str | None, me: str) -> tuple[Entry | None, str]:
    entries, problems = all_entries()
    if session_arg:
        named = [
            e
            for e in entries
            if e.id == session_arg or e.id.startswith(session_arg) or e.service == session_arg
        ]
        if len(named) == 1:
            return named[0], ""
        if not named:
            extra = f" ({'; '.join(problems)})" if problems else ""
            return None, f"no running session {session_arg!r} on this host{extra}"
        ids = ", ".join(e.id for e in named)
        return None, f"{session_arg!r} names {len(named)} sessions ({ids}): give the whole id"
    mine = [e for e in entries if e.may_join(me)]
    if len(mine) == 1:
        return mine[0], ""
    if not mine:
        return None, f"no running session on this host that {me} may join"
    ids = ", ".join(e.id for e in mine)
    return None, f"{me} may join {len(mine)} sessions ({ids}): give SESSION"


def attach_command(args: argparse.Namespace) -> int:
    """Join a session: exit 0 when it ends or you leave, 2 when refused or not found."""
    from cockpit.attach.client import AttachRefused, join_as
    from cockpit.journal import JournalDamaged

    me = user_name(os.geteuid())
    entry, problem = _choose(args.session, me)
    if entry is None:
        _say(f"error: {problem} (`cockpit sessions --attachable` lists them)", error=True)
        return 2
    may = entry.may_join(me)
    role = args.role or (may[0] if may else "observer")
    try:
        # Joined before the terminal is checked: the session decides, and records whom it
        # refused, whatever terminal they have.
        session = join_as(entry, role)
    except AttachRefused as exc:
        _say(f"error: {exc}", error=True)
        return 2
    except JournalDamaged as exc:
        _say(f"error: the session's records do not verify: {exc}", error=True)
        return 2
    if not _terminal_ok():
        asyncio.run(session.stop())
        return 2
    from cockpit.ui.app import make_app

    app = make_app(session)
    session.on_end = lambda reason: app.exit()
    try:
        app.run()
    finally:
        state = session.state
        ended = f"; {session.ended}" if session.ended else ""
        _say(f"left {entry.owner}'s session {entry.id}: {state.phase.value}{ended}")
        if state.phase.finished and state.rollback is not None:
            _say(f"verdict: {state.phase.value} (rollback: {state.rollback.reason})")
    return 0


__all__ = ["attach_command", "attach_directory", "serving"]
