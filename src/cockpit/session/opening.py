"""Opening a session: a new one for a profile, or one resumed from its journal.

These functions do the I/O of opening (the profile, the journal, the session directory) and
hand back what a :class:`cockpit.session.Session` is made of; they never act on anything.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cockpit.clock import Clock
from cockpit.engine import Event, Fold, Refusal, State, decide
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.files import read_regular_file
from cockpit.journal import (
    Journal,
    JournalUnreadable,
    Record,
    default_sessions_dir,
    new_session_path,
    session_directory,
)
from cockpit.profile import Profile, ResolvedProfile, load_profile, resolve_profile
from cockpit.profile.loader import PROFILE_SIZE_LIMIT
from cockpit.session.crew import Crew, os_user, terminal
from cockpit.session.locking import SessionLock, why_of


@dataclass
class Opened:
    """What a session is made of, once its journal is open."""

    resolved: ResolvedProfile
    journal: Journal
    session_dir: Path
    crew: Crew
    state: State
    first: tuple[i.Intent, list[Event]] | None = None
    """The intent and events still to record (a new session's start)."""
    last_process: Event | None = None
    """The journal's last ``process.started`` (the screen follows that process's output)."""
    lock: SessionLock | None = None
    """The deploy lock, taken before the journal was made."""


class Replay:
    """A session's state folded from its journal's records as they are read: nothing holds
    the records, so opening a long session costs its length in time, not in memory."""

    def __init__(self) -> None:
        self._fold = Fold()
        self.last_process: Event | None = None

    @property
    def state(self) -> State:
        """The state after the records added so far."""
        return self._fold.state

    def add(self, record: Record) -> None:
        """Fold one record in."""
        self._fold.add(record)
        if record.kind == Kind.PROCESS_STARTED:
            self.last_process = Event(record.kind, dict(record.body), record.actor, record.wall)


def open_new(
    profile_path: Path,
    *,
    operator: str | None,
    monitor: str | None,
    sessions_dir: Path | None,
    environ: Mapping[str, str],
    clock: Clock,
    take_over: bool = False,
    kind: str = "deploy",
    baseline_at: float | None = None,
) -> Opened:
    """Load the profile, check the crew, take the deploy lock and open a new journal;
    nothing is recorded yet.

    ``kind`` is "deploy", or "incident" (declared now, with ``baseline_at`` if the crew gave
    one).

    Raises:
        ProfileError: the profile is invalid or a referenced variable is not set.
        Refusal: the crew breaks the two-person rule (before any file exists).
        LockHeld: another session holds the service's lock (before any file exists).
        LockError: the lock's store cannot be used.
        OSError: the sessions directory cannot be created.
    """
    profile = load_profile(profile_path)
    resolved = resolve_profile(profile, environ)
    crew = crew_by_identity(profile) or Crew(
        operator=(operator or profile.roles.operator or "operator").strip(),
        monitor=(monitor or profile.roles.monitor or "monitor").strip(),
        tty=terminal(),
        approvers=tuple(profile.roles.approvers),
    )
    intent = i.StartSession(
        crew.actor("operator"),
        clock.wall(),
        profile=profile.model_dump(mode="json"),
        # Read again as the loader read it: a regular file under the cap, never a FIFO.
        profile_sha256=hashlib.sha256(
            read_regular_file(profile_path, PROFILE_SIZE_LIMIT, what="profile")
        ).hexdigest(),
        profile_path=str(profile_path.resolve()),
        operator=crew.operator,
        monitor=crew.monitor,
        approvers=crew.approvers,
        os_user=os_user(),
        host=socket.gethostname(),
        kind=kind,
        baseline_at=baseline_at,
    )
    events = decide(State(), intent)  # refuses a bad crew before any file exists
    directory = sessions_dir or default_sessions_dir()
    journal_path = new_session_path(directory, profile.deployment.service, clock.wall())
    lock = SessionLock.take(
        resolved.profile,
        journal_path,
        why=why_of(resolved.profile, intent.actor),
        wall=clock.wall(),
        take_over=take_over,
        environ=environ,
    )
    try:
        session_dir = session_directory(journal_path)
        journal = Journal.open(journal_path)
    except BaseException as exc:
        lock.abandon(f"the session did not start: {exc}", clock.wall())
        raise
    return Opened(resolved, journal, session_dir, crew, State(), (intent, events), lock=lock)


def open_existing(journal_path: Path, *, environ: Mapping[str, str]) -> Opened:
    """Open a session's journal to carry on: verify it, replay it, resolve its profile.

    A torn last record is repaired (the original kept as ``.broken``); any other damage is
    refused.

    Raises:
        JournalError: the journal is damaged, locked by a live cockpit, or unreadable.
        ProfileError: a variable the profile needs is not set.
    """
    if not journal_path.is_file():
        # Journal.open would start a new, empty journal: never do that for a resume.
        raise JournalUnreadable(journal_path, "no such journal file; check the path")
    # Refuse a sessions or session directory someone else could redirect, before any write.
    session_dir = session_directory(journal_path)
    replayed = Replay()
    journal = Journal.open(journal_path, on_record=replayed.add)
    state = replayed.state
    try:
        if state.profile is None:
            raise JournalUnreadable(
                journal_path, "not a session journal (no session.started record)"
            )
        resolved = resolve_profile(state.profile, environ)
    except BaseException:
        journal.close()
        raise
    crew = Crew(
        operator=state.crew["operator"],
        monitor=state.crew["monitor"],
        tty=terminal(),
        approvers=state.approvers,
        uid=os.geteuid() if state.profile.crew is not None else None,
    )
    if crew.by_identity and crew.operator != os_user():
        journal.close()
        raise Refusal(
            f"this session's Operator is the OS user {crew.operator}; you are {os_user()}:"
            f" resume it as {crew.operator}"
        )
    return Opened(resolved, journal, session_dir, crew, state, last_process=replayed.last_process)


def crew_by_identity(profile: Profile) -> Crew | None:
    """The crew of a profile that names its OS users (``[crew]``): this terminal's user is
    the Operator. None for a profile without ``[crew]`` (one shared screen).

    Raises:
        Refusal: the profile names another OS user as the Operator.
    """
    named = profile.crew
    if named is None:
        return None
    me = os_user()
    if named.operator is not None and named.operator != me:
        raise Refusal(
            f"this profile's Operator is the OS user {named.operator}; you are {me}: open it"
            f" as {named.operator}"
        )
    return Crew(
        operator=me,
        monitor=named.monitor or me,
        tty=terminal(),
        approvers=tuple(profile.roles.approvers),
        uid=os.geteuid(),
    )


def resumed_event(crew: Crew, wall: float) -> Event:
    """The record that a cockpit took the session up again: who, where."""
    return Event(
        Kind.SESSION_RESUMED,
        {"os_user": os_user(), "host": socket.gethostname(), "tty": crew.tty},
        crew.actor("operator"),
        wall,
    )


def environment(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    """The environment references are resolved from (the process's, unless given)."""
    return os.environ if environ is None else environ
