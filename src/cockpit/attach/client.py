"""A crew member's terminal joined to a session through its attach socket.

The read side is ``cockpit watch``'s: the socket serves the journal's records, and this
terminal verifies their hash chain and folds them into its own state with the engine
(:meth:`WatchedSession.fold`), keeping none of them: only where its copy ends (the last
sequence number and hash), as the journal's follower does. Its keys are sent by name; the
session makes the intent with this terminal's OS identity (read from the socket, never from a
message) and its engine decides. A connection that breaks is made again, and the records
missed meanwhile arrive from the journal; until then the top bar says the terminal is not
following.

The connection is read by a thread, so that the records that arrive while the screen is
being built are never lost between two readers; the thread verifies each record against
the one before (so it knows exactly where its copy ends when it reconnects) and hands it to
the event loop, where the state is changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cockpit.attach import protocol as p
from cockpit.attach.places import Entry, PlaceRefused, check_socket_directory
from cockpit.clock import Clock
from cockpit.engine import Event, Refusal
from cockpit.engine import intents as i
from cockpit.journal import JournalDamaged, Record
from cockpit.journal.records import GENESIS_PREV, BadLine, line_hash, parse_line
from cockpit.lock.process import user_name
from cockpit.runner import OutputSource
from cockpit.session.opening import Replay
from cockpit.session.record import JournalFailure
from cockpit.watch import WatchedSession

CONNECT_TIMEOUT = 5.0
ANSWER_TIMEOUT = 15.0
"""Seconds to wait for the session to answer a key (R answers once the rollback started)."""
RECONNECT_EVERY = 0.5


class AttachRefused(Exception):
    """The session refused this terminal, or cannot be reached: why, in one line."""


class Link:
    """One connection to a session's socket (blocking; read by one thread at a time)."""

    def __init__(self, path: Path, owner_uid: int, role: str) -> None:
        self.path = path
        self.owner_uid = owner_uid
        self.role = role
        self.sock: socket.socket | None = None
        self._buffer = bytearray()
        self._send_lock = threading.Lock()

    def open(self, have: int, last: str) -> p.Welcome:
        """Connect, check who serves the socket, say hello; return the welcome.

        Raises:
            AttachRefused: refused, not reachable, or served by someone else.
        """
        try:
            check_socket_directory(self.path.parent, self.owner_uid)
        except PlaceRefused as exc:
            raise AttachRefused(str(exc)) from None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(str(self.path))
            raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _, uid, _ = struct.unpack("3i", raw)
            if uid != self.owner_uid:
                raise AttachRefused(
                    f"{self.path} is served by {user_name(uid)}, not by the session's owner"
                    f" {user_name(self.owner_uid)}: not joined"
                )
            self.sock = sock
            self._buffer.clear()
            hello = {"type": "hello", "version": p.VERSION, "role": self.role, "have": have}
            # A peer it refuses is told why at once, before any hello, and the session closes:
            # the hello may find the socket shut, and the reason is still there to read.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send({**hello, "last": last})
            message = self.read()
        except AttachRefused:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            raise AttachRefused(f"cannot reach the session at {self.path}: {exc}") from None
        if isinstance(message, p.Refused):
            self.close()
            raise AttachRefused(message.reason)
        if not isinstance(message, p.Welcome):
            self.close()
            raise AttachRefused(f"the session answered {message.type} instead of welcome")
        sock.settimeout(None)
        return message

    def send(self, message: dict[str, Any]) -> None:
        """Send one message.

        Raises:
            OSError: the connection is gone.
        """
        if self.sock is None:
            raise ConnectionError("not connected")
        with self._send_lock:
            self.sock.sendall(p.encode(message))

    def read(self) -> p.Welcome | p.Refused | p.Record | p.Answer | p.End | p.Output | p.Unrecorded:
        """The next message (blocking).

        Raises:
            ConnectionError: the connection ended.
            p.BadMessage: the session sent something that is not a message.
        """
        assert self.sock is not None
        while (newline := self._buffer.find(b"\n")) == -1:
            if len(self._buffer) > p.SERVER_LINE_LIMIT:
                raise p.BadMessage("a line longer than the protocol allows")
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("the session closed the connection")
            self._buffer += chunk
        line = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        return p.parse_server(line)

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


def verified(line: str, seq: int, prev: str) -> Record:
    """A record line checked against the one before it (number ``seq``, hash ``prev``; 0 and
    ``GENESIS_PREV`` before the first), as the journal's follower checks.

    Raises:
        JournalDamaged: it does not parse, is out of sequence, or does not chain.
    """
    expected = seq + 1
    where = Path("attach")
    raw = line.encode("utf-8")
    try:
        record = parse_line(raw)
    except BadLine as exc:
        raise JournalDamaged(where, expected, f"line is {exc}") from None
    if record.seq != expected:
        raise JournalDamaged(where, expected, f"sequence number {record.seq}")
    if record.prev != prev or line_hash(raw, prev) != record.hash:
        raise JournalDamaged(where, expected, "does not chain to the record before")
    return record


class RemoteOutput:
    """The running process's output as the session sends it, for a terminal that may not
    read the file (it is the session owner's): the screen reads it like the file."""

    KEEP = 5000
    """Lines kept unread (a screen that does not read loses the oldest)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lines: deque[str] = deque(maxlen=self.KEEP)

    def add(self, lines: list[str]) -> None:
        """Lines the session sent."""
        self._lines.extend(lines)

    def read_lines(self) -> list[str]:
        """The lines not read yet (the session made them inert; the screen checks again)."""
        lines = list(self._lines)
        self._lines.clear()
        return lines

    def catch_up(self, keep: int) -> int:
        """Nothing to skip: the session sends a flood's last lines only."""
        return 0

    def flush_partial(self) -> list[str]:
        """The session sends whole lines only."""
        return []


class AttachedSession(WatchedSession):
    """A session seen (and, as Monitor, acted on) through its attach socket."""

    link: Link
    welcome: p.Welcome
    entry: Entry | None = None
    on_end: Callable[[str], None] | None = None
    """Called (on the event loop) when the session's cockpit quit."""
    ended: str | None = None
    session_failure: JournalFailure | None = None
    """The session's failed journal, as the session told it (see ``journal_failure``)."""
    remote_output: RemoteOutput | None = None
    """The output of the process the session runs now, as it sends it."""
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _answers: dict[int, asyncio.Future[p.Answer]]
    _next_id = 0
    _closing = False
    _have: tuple[int, str] = (0, GENESIS_PREV)
    """Where this terminal's copy ends: the last record read and verified (by the reader)."""
    _again: tuple[int, str] = (0, GENESIS_PREV)
    """Records sent again after a reconnect: the last of them checked."""

    @classmethod
    def join(
        cls,
        path: Path,
        *,
        owner_uid: int,
        role: str,
        entry: Entry | None = None,
        clock: Clock | None = None,
    ) -> AttachedSession:
        """Connect, receive the journal's records so far, and build the state from them.

        Raises:
            AttachRefused: refused (the reason names why), or not reachable.
            JournalDamaged: the records do not verify.
        """
        link = Link(path, owner_uid, role)
        welcome = link.open(0, "")
        replayed = Replay()  # folded as they arrive: a long session's records are never held
        seq, last = 0, GENESIS_PREV
        try:
            while seq < welcome.count:
                message = link.read()
                if isinstance(message, p.End):
                    raise AttachRefused(message.reason)
                if isinstance(message, p.Record):
                    record = verified(message.line, seq, last)
                    replayed.add(record)
                    seq, last = record.seq, record.hash
            session = cls.from_replay(Path(welcome.journal), replayed, seq, last, clock=clock)
        except (ConnectionError, OSError, p.BadMessage) as exc:
            link.close()
            raise AttachRefused(f"the connection broke while joining: {exc}") from None
        except BaseException:
            link.close()
            raise
        assert isinstance(session, AttachedSession)
        session._have = (seq, last)
        session.link = link
        session.welcome = welcome
        session.entry = entry
        session._answers = {}
        who = f"{welcome.user} as {welcome.role}"
        session.read_only_reason = (
            f"joined as an observer ({who}): observers only watch"
            if role == "observer"
            else f"{who}: only the Monitor's keys and the keys anyone may press"
        )
        return session

    @property
    def read_only(self) -> bool:
        """Observers only watch; the Monitor acts."""
        return self.welcome.role == "observer"

    @property
    def seat(self) -> str | None:
        """The role of this terminal: its keys are that role's and the crew's."""
        return self.welcome.role

    # ------------------------------------------------------------ following

    async def run_clock(self) -> None:
        """Read the socket (in a thread) until cancelled; reconnect when it breaks."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._reader, name="cockpit-attach", daemon=True)
        self._thread.start()
        await asyncio.Event().wait()

    def _reader(self) -> None:
        while not self._closing:
            try:
                while not self._closing:
                    message = self.link.read()
                    if isinstance(message, p.Record):
                        try:
                            record = self._take(message.line)
                        except (JournalDamaged, BadLine) as exc:
                            self._hand_over(
                                self._fail, f"the session's records do not verify: {exc}"
                            )
                            return
                        if record is not None:
                            self._hand_over(self._on_record, record)
                    else:
                        self._hand_over(self._on_message, message)
            except (ConnectionError, OSError, p.BadMessage) as exc:
                if self._closing or self.ended:
                    return
                self._hand_over(self._disconnected, str(exc))
            self._reconnect()

    def _take(self, line: str) -> Record | None:
        """A record read from the socket, verified against this terminal's copy (in the
        reader's thread); None for one it has already.

        Raises:
            JournalDamaged: it does not verify, or differs from the record this copy holds.
            BadLine: it does not parse.
        """
        seq, last = self._have
        if parse_line(line.encode("utf-8")).seq <= seq:
            # Sent again after a reconnect (from the start when the session could not match
            # our copy): it must chain from the first, to the very record we have last (the
            # chain vouches for every record before that one).
            again = verified(line, *self._again)
            self._again = (again.seq, again.hash)
            if again.seq == seq and again.hash != last:
                raise JournalDamaged(Path("attach"), seq, "differs from ours")
            return None
        record = verified(line, seq, last)
        self._have = (record.seq, record.hash)
        return record

    def _reconnect(self) -> None:
        while not self._closing and not self.ended:
            seq, last = self._have
            self._again = (0, GENESIS_PREV)
            try:
                self.link.open(seq, last if seq else "")
            except AttachRefused as exc:
                self._hand_over(self._disconnected, str(exc))
                threading.Event().wait(RECONNECT_EVERY)
                continue
            self._hand_over(self._reconnected, None)
            return

    def _hand_over(self, handler: Callable[[Any], None], value: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(handler, value)

    def _on_record(self, record: Record) -> None:
        """A new record, verified by the reader: fold it in (on the event loop)."""
        self.journal.last_seq, self.journal.last_hash = record.seq, record.hash
        self.fold([record])

    def output_source(self, path: Path) -> OutputSource:
        """The output the session sends for ``path`` (never the file: it is the owner's)."""
        if self.remote_output is None or self.remote_output.path != path:
            self.remote_output = RemoteOutput(path)
        return self.remote_output

    @property
    def journal_failure(self) -> JournalFailure | None:
        """This terminal's own failure to follow, or the session's failed journal (told by
        the session: what it could not record never reaches the journal this reads)."""
        return self.recorder.failure() or self.session_failure

    def _on_message(
        self, message: p.Welcome | p.Refused | p.Record | p.Answer | p.End | p.Output | p.Unrecorded
    ) -> None:
        if isinstance(message, p.Output):
            if self.remote_output is None or str(self.remote_output.path) != message.path:
                self.remote_output = RemoteOutput(Path(message.path))
            self.remote_output.add(message.lines)
        elif isinstance(message, p.Unrecorded):
            self.session_failure = JournalFailure(
                f"on the session's cockpit: {message.why}",
                tuple(message.decisions),
                message.events,
                message.samples,
            )
            for listener in list(self.listeners):
                listener([])
        elif isinstance(message, p.Answer):
            future = self._answers.pop(message.id, None)
            if future is not None and not future.done():
                future.set_result(message)
        elif isinstance(message, p.End):
            if message.again:
                self._disconnected(message.reason)
                return
            self.ended = message.reason
            if self.on_end is not None:
                self.on_end(message.reason)

    def _disconnected(self, why: str) -> None:
        for future in self._answers.values():
            if not future.done():
                future.set_exception(Refusal(f"not connected to the session ({why})"))
        self._answers.clear()
        self.loops.guard.failed("follow", ConnectionError(f"not joined: {why}; reconnecting"))

    def _reconnected(self, _: object) -> None:
        self.loops.guard.passed("follow")

    def _fail(self, why: str) -> None:
        self.recorder.failed = why
        self._closing = True
        self.link.close()
        for listener in list(self.listeners):
            listener([])

    # ------------------------------------------------------------ acting

    async def act(self, intent: i.Intent) -> list[Event]:
        """Send the key to the session; its engine decides.

        Raises:
            Refusal: refused by the session (the reason says why), or not connected.
        """
        if self.read_only:
            raise Refusal(self.read_only_reason)
        await self._ask(message_for(intent))
        return []

    async def run_checks(self, *, only_due: bool = False) -> None:
        """e: the session runs its readiness checks again."""
        await self._ask({"action": "rerun_checks", "role": "crew"})

    async def _ask(self, fields: dict[str, Any]) -> None:
        if self.ended:
            raise Refusal(f"the session's cockpit quit ({self.ended})")
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future[p.Answer] = asyncio.get_running_loop().create_future()
        self._answers[ident] = future
        try:
            await asyncio.to_thread(self.link.send, {"type": "act", "id": ident, **fields})
            async with asyncio.timeout(ANSWER_TIMEOUT):
                answer = await future
        except (OSError, ConnectionError) as exc:
            raise Refusal(f"not connected to the session ({exc})") from None
        except TimeoutError:
            raise Refusal(f"the session did not answer within {ANSWER_TIMEOUT:.0f} s") from None
        finally:
            self._answers.pop(ident, None)
        if not answer.ok:
            raise Refusal(answer.reason or "refused")

    async def stop(self) -> None:
        """Leave: say bye, close the connection."""
        self._closing = True
        with contextlib.suppress(OSError, ConnectionError):
            self.link.send({"type": "bye"})
        self.link.close()
        await super().stop()


def message_for(intent: i.Intent) -> dict[str, Any]:
    """The ``act`` message for a key's intent: its action by name and the role whose key
    it is; who presses it is for the session to find out."""
    role = intent.actor.role if intent.actor.role in ("operator", "monitor") else "crew"
    simple: dict[type[i.Intent], str] = {
        i.RollBackNow: "rollback",
        i.Go: "go",
        i.Resume: "resume",
    }
    if type(intent) in simple:
        action = simple[type(intent)]
        return {"action": action, "role": "crew" if action in ("rollback", "resume") else role}
    typed = _typed(getattr(intent, "typed", None))
    if isinstance(intent, i.ConfirmReadback):
        return {"action": "readback", "role": role, **typed}
    if isinstance(intent, i.ConfirmManualCheck):
        return {"action": "confirm", "role": role, "check": intent.check_id}
    stepped: dict[type[i.Intent], str] = {
        i.VerifyStep: "verify",
        i.RunStep: "run_step",
        i.AcknowledgeIrreversible: "acknowledge",
        i.ApproveStep: "approve",
    }
    if type(intent) in stepped:
        step = getattr(intent, "step_id")  # noqa: B009
        return {"action": stepped[type(intent)], "role": role, "step": step, **typed}
    reasoned: dict[type[i.Intent], str] = {
        i.AcceptInconclusive: "accept",
        i.Hold: "hold",
        i.NoGo: "nogo",
        i.Abort: "abort",
    }
    if type(intent) in reasoned:
        reason = str(getattr(intent, "reason"))[: p.REASON_LIMIT]  # noqa: B009
        return {"action": reasoned[type(intent)], "role": role, "reason": reason}
    raise Refusal(f"{type(intent).__name__} cannot be sent to the session")


def _typed(typed: str | None) -> dict[str, str]:
    """What was typed to confirm, when anything was (the session checks it)."""
    return {} if typed is None else {"typed": typed[: p.REASON_LIMIT]}


def join_as(entry: Entry, role: str, *, clock: Clock | None = None) -> AttachedSession:
    """Join the session an index entry describes.

    Raises:
        AttachRefused: refused or not reachable.
        JournalDamaged: the records do not verify.
    """
    directory = _directory_of(entry)
    return AttachedSession.join(
        directory / entry.socket, owner_uid=entry.owner_uid, role=role, entry=entry, clock=clock
    )


def _directory_of(entry: Entry) -> Path:
    from cockpit.attach.places import owner_directory

    if entry.owner_uid == os.geteuid():
        return owner_directory()
    return owner_directory(user=entry.owner)
