"""The attach socket a live session serves: the crew joins from their own terminals.

Who may talk is decided on every connection by the peer's credentials (``SO_PEERCRED``):
the session's owner and the OS users the profile's ``[crew]`` names, each in the roles it
gives them. Anyone else is refused; the refusal names the user and is recorded.

The session never waits for a client. Each client has a task of its own that reads the
journal's new records from the file and writes them to it; a client that does not read for
``DRAIN_TIMEOUT`` seconds is dropped and reconnects later, catching up from the journal.
A client asks for keys by name; the server makes the intent with the client's OS identity
and puts it through the session's own pipeline, so the engine's rules decide, as for a key
pressed on the session's own screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cockpit.attach import protocol as p
from cockpit.attach.places import (
    SOCKET_PATH_MAX,
    Entry,
    PlaceRefused,
    add_entry,
    prepare_directory,
    remove_entry,
    socket_name,
)
from cockpit.engine import Event, Refusal
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.guide import manual_pending
from cockpit.journal import Actor, JournalError
from cockpit.lock import lock_keys
from cockpit.lock.process import start_time, user_name
from cockpit.runner import OutputTail
from cockpit.session import Session
from cockpit.session.record import JournalFailure

log = logging.getLogger(__name__)

POLL = 0.1
"""Seconds between looks at the journal's size (samples are flushed without a decision)."""
IDLE_POLL = 1.0
"""The same with nobody joined: the record index still keeps up with the journal (a terminal
that joins reads only the last second), and samples do not wake the loop. Measured in the
idle demo over 30 s: 30 passes instead of 340, and the event loop woke 877 times, not 1,407."""
HELLO_TIMEOUT = 5.0
"""Seconds a new connection has to say hello."""
DRAIN_TIMEOUT = 5.0
"""Seconds a client may leave written records unread before it is dropped."""
MAX_CLIENTS = 32


@dataclass(frozen=True)
class Peer:
    """Who is at the other end of a connection, as the kernel says."""

    pid: int
    uid: int
    user: str
    tty: str | None


def peer_of(sock: Any) -> Peer:
    """The peer's process, user and terminal, from ``SO_PEERCRED`` and ``/proc``."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, _gid = struct.unpack("3i", raw)
    return Peer(pid=pid, uid=uid, user=user_name(uid), tty=terminal_of(pid))


def terminal_of(pid: int) -> str | None:
    """The controlling terminal of a process (``/proc/PID/stat``, readable by anyone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        tty_nr = int(stat[stat.rfind(b")") + 2 :].split()[4])
    except (OSError, IndexError, ValueError):
        return None
    if tty_nr == 0:
        return None
    major, minor = os.major(tty_nr), os.minor(tty_nr)
    if 136 <= major <= 143:
        return f"/dev/pts/{(major - 136) * 256 + minor}"
    if major == 4:
        return f"/dev/tty{minor}" if minor < 64 else f"/dev/ttyS{minor - 64}"
    return f"tty {major}:{minor}"


class RecordFeed:
    """The journal's record lines, read from the file as it grows (the offsets are kept,
    never the records: a client that joins late reads them from the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.starts: list[int] = []
        self.end = 0

    @property
    def count(self) -> int:
        """How many whole records the file holds (as of the last :meth:`refresh`)."""
        return len(self.starts)

    def refresh(self) -> int:
        """Read what was appended; return how many new whole records there are."""
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return 0
        if size <= self.end:
            return 0
        with open(self.path, "rb") as f:
            f.seek(self.end)
            data = f.read(size - self.end)
        new = 0
        offset = 0
        while (newline := data.find(b"\n", offset)) != -1:
            self.starts.append(self.end + offset)
            offset = newline + 1
            new += 1
        self.end += offset  # a record still being written waits for its newline
        return new

    def lines(self, first: int, stop: int) -> list[bytes]:
        """Records ``first`` to ``stop - 1`` (0-based), as the lines on disk."""
        if first >= stop:
            return []
        begin = self.starts[first]
        end = self.starts[stop] if stop < len(self.starts) else self.end
        with open(self.path, "rb") as f:
            f.seek(begin)
            data = f.read(end - begin)
        return data.split(b"\n")[:-1]


OUTPUT_KEEP = 500
"""Lines of the running process's output a terminal gets when it joins."""
OUTPUT_CATCH_UP = 256 * 1024
"""A flood is read from its last this many bytes (the screens keep fewer lines)."""


@dataclass
class OutputFeed:
    """The running process's output, read once for every joined terminal: its newest lines,
    and how many there have been."""

    path: str
    tail: OutputTail
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=OUTPUT_KEEP))
    total: int = 0

    def pump(self) -> bool:
        """Read what the process wrote since; whether there was anything."""
        self.tail.catch_up(OUTPUT_CATCH_UP)
        read = False
        for _ in range(8):  # at most 8 reads of 64 KiB per pass
            batch = self.tail.read_lines()
            if not batch:
                break
            self.recent.extend(line[: p.OUTPUT_LINE] for line in batch)
            self.total += len(batch)
            read = True
        return read

    def since(self, seen: int) -> list[str]:
        """The lines after the first ``seen`` (those still kept)."""
        count = min(self.total - seen, len(self.recent))
        return list(self.recent)[len(self.recent) - count :] if count > 0 else []


@dataclass
class Client:
    """One joined terminal."""

    id: str
    peer: Peer
    role: str
    writer: asyncio.StreamWriter
    sent: int
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False
    left: bool = False
    """Its leaving is recorded."""
    why: str = "it left"
    failure_sent: JournalFailure | None = None
    """What it was last told of a failed journal."""
    output_path: str | None = None
    output_seen: int = 0
    """How many lines of ``output_path`` it has had."""

    @property
    def who(self) -> str:
        return f"{self.peer.user} (uid {self.peer.uid}, pid {self.peer.pid})"


class AttachServer:
    """Serves a session's attach socket while it runs (:meth:`serve`, until cancelled).

    Args:
        session: The live session.
        directory: This user's socket directory (see ``cockpit.attach.places``).
    """

    def __init__(self, session: Session, directory: Path) -> None:
        self.session = session
        self.directory = directory
        self.path = directory / socket_name(session.journal_path)
        self.owner_uid = os.geteuid()
        self.owner = user_name(self.owner_uid)
        self.feed = RecordFeed(session.journal_path)
        self.clients: dict[str, Client] = {}
        self.refused: list[str] = []
        """Who was refused, newest last (the screen says so)."""
        self.on_refused: Callable[[str], None] | None = None
        self._poke = asyncio.Event()
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.ready = asyncio.Event()
        self._output: OutputFeed | None = None

    @property
    def session_id(self) -> str:
        return self.session.journal_path.stem

    # ------------------------------------------------------------ who may join

    def roles_for(self, peer: Peer) -> list[str]:
        """The roles a peer may join as (empty: refused)."""
        crew = self.session.profile.crew
        is_owner = peer.uid == self.owner_uid
        if crew is None:
            return ["observer"] if is_owner else []
        roles = []
        if peer.user == crew.monitor or is_owner:
            # The owner may ask for the Monitor's role; under the two-person rule the engine
            # refuses every Monitor action of the Operator's own uid, and says why.
            roles.append("monitor")
        if is_owner or peer.user in (crew.monitor, crew.operator) or peer.user in crew.observers:
            roles.append("observer")
        return roles

    def entry(self) -> Entry:
        """This session in its owner's index."""
        profile = self.session.profile
        crew = profile.crew
        monitors = [] if crew is None else [u for u in (crew.monitor, self.owner) if u]
        observers = [] if crew is None else [u for u in crew.observers if u]
        return Entry(
            id=self.session_id,
            socket=self.path.name,
            owner=self.owner,
            owner_uid=self.owner_uid,
            pid=os.getpid(),
            start=start_time(os.getpid()) or 0,
            journal=str(self.session.journal_path),
            deployment=profile.deployment.name,
            service=profile.deployment.service,
            environments=[k.environment for k in lock_keys(profile)],
            started=self.session.state.started or 0.0,
            monitor=sorted(set(monitors)),
            observers=sorted(set(observers)),
        )

    # ------------------------------------------------------------ serving

    def listen(self) -> socket.socket:
        """Make the directory and the socket; return the listening socket.

        Raises:
            PlaceRefused: the directory cannot be used, or the path is too long.
        """
        prepare_directory(self.directory)
        if len(os.fsencode(self.path)) > SOCKET_PATH_MAX:
            raise PlaceRefused(
                f"{self.path}: longer than a socket path may be ({SOCKET_PATH_MAX} bytes);"
                " set COCKPIT_RUNTIME_DIR to a shorter directory"
            )
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # ours: a socket left by a cockpit of this session that died
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # Bound under a restrictive umask, so nobody can connect before it is set up; then
        # opened to every local user, because SO_PEERCRED, not the mode, decides who talks
        # (and the directory is searchable only: nobody else can list or replace it).
        before = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(before)
        sock.listen(16)
        os.chmod(self.path, 0o666)  # noqa: S103 (see above: SO_PEERCRED decides)
        return sock

    async def serve(self) -> None:
        """Serve until cancelled; then tell every client the cockpit quit and clean up."""
        sock = self.listen()
        server = await asyncio.start_unix_server(
            self._connected, sock=sock, limit=p.CLIENT_LINE_LIMIT
        )
        self.session.listeners.append(self._on_events)
        try:
            await asyncio.to_thread(add_entry, self.directory, self.entry())
            self.feed.refresh()
            self.ready.set()
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval()):
                        await self._poke.wait()
                self._poke.clear()
                # New records, new output, or (the journal failed) events not on record.
                fresh = self.feed.refresh()
                fresh = self._pump_output() or fresh
                if fresh or self.session.journal_failure is not None:
                    for client in self.clients.values():
                        client.wake.set()
        finally:
            with contextlib.suppress(ValueError):
                self.session.listeners.remove(self._on_events)
            server.close()
            self.feed.refresh()
            phase = self.session.state.phase
            why = f"the cockpit quit (the session is {phase.value})"
            for client in list(self.clients.values()):
                self._flush_to(client)
                self._end(client, why)
                self._record_left(client, why)
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            remove_entry(self.directory, self.session_id)

    def _pump_output(self) -> bool:
        """Read the running process's output for the joined terminals; whether there was new.
        With nobody joined nothing is read: a terminal that joins later gets the file's last
        lines then (the feed reads from its start, a flood from its last 256 KiB)."""
        if not self.clients:
            return False
        last = self.session.last_process_started
        if last is not None:
            path = str(last.body["output"])
            if self._output is None or self._output.path != path:
                secrets = self.session.resolved.secrets
                self._output = OutputFeed(path, OutputTail(Path(path), secrets=secrets))
        return self._output is not None and self._output.pump()

    def poll_interval(self) -> float:
        """Seconds until the next look at the journal, if nothing pokes before."""
        return POLL if self.clients else IDLE_POLL

    def _on_events(self, events: list[Event]) -> None:
        if self.clients:  # nobody to tell: the next look at the journal will do
            self._poke.set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = peer_of(writer.get_extra_info("socket"))
        except OSError:
            writer.close()
            return
        roles = self.roles_for(peer)
        if not roles:
            self._refuse(writer, peer, None, f"{peer.user} is not in this session's crew")
            return
        if len(self.clients) >= MAX_CLIENTS:
            self._refuse(writer, peer, None, f"{MAX_CLIENTS} terminals are joined already")
            return
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):
                line = await _line(reader)
            hello = p.parse_client(line)
            if not isinstance(hello, p.Hello):
                raise p.BadMessage(f"the first message must be hello, not {hello.type}")
        except (TimeoutError, p.BadMessage, ValueError, OSError) as exc:
            self._bad_input(writer, peer, exc)
            return
        if hello.role not in roles:
            allowed = " or ".join(roles)
            self._refuse(writer, peer, hello.role, f"{peer.user} may join as {allowed} only")
            return
        client = Client(
            id=f"{os.getpid()}.{next(self._ids)}",
            peer=peer,
            role=hello.role,
            writer=writer,
            sent=self._catch_up_from(hello),
        )
        self.clients[client.id] = client
        self._poke.set()  # look at the journal as often as a joined terminal needs
        writer.write(
            p.encode(
                {
                    "type": "welcome",
                    "role": client.role,
                    "user": peer.user,
                    "uid": peer.uid,
                    "owner": self.owner,
                    "session": self.session_id,
                    "journal": str(self.session.journal_path),
                    "tty": peer.tty,
                    "count": self.feed.count,
                }
            )
        )
        self._record_attach(client, "joined")
        client.wake.set()
        self._spawn(self._send(client))
        try:
            await self._read(reader, client)
        finally:
            self.clients.pop(client.id, None)
            if not client.ended:
                client.ended = True
                writer.close()
            self._record_left(client, client.why)

    def _catch_up_from(self, hello: p.Hello) -> int:
        """Where the client's copy of the journal ends, if it matches ours; else 0 (all)."""
        self.feed.refresh()
        if not 0 < hello.have <= self.feed.count:
            return 0
        [line] = self.feed.lines(hello.have - 1, hello.have)
        return hello.have if f'"hash":"{hello.last}"'.encode() in line else 0

    # ------------------------------------------------------------ sending

    def _flush_to(self, client: Client) -> None:
        """Write every record the client has not had, and what is not on record once the
        journal failed (without waiting)."""
        if client.ended:
            return
        count = self.feed.count
        if count > client.sent:
            for line in self.feed.lines(client.sent, count):
                client.writer.write(p.encode({"type": "record", "line": line.decode("utf-8")}))
            client.sent = count
        feed = self._output
        if feed is not None:
            if client.output_path != feed.path:
                client.output_path, client.output_seen = feed.path, 0
            lines = feed.since(client.output_seen)
            for start in range(0, len(lines), p.OUTPUT_BATCH):
                batch = lines[start : start + p.OUTPUT_BATCH]
                client.writer.write(p.encode({"type": "output", "path": feed.path, "lines": batch}))
            client.output_seen = feed.total
        failure = self.session.journal_failure
        if failure is not None and failure != client.failure_sent:
            client.failure_sent = failure
            client.writer.write(
                p.encode(
                    {
                        "type": "unrecorded",
                        "why": failure.why[:2000],
                        "decisions": [d[:500] for d in failure.decisions[-p.UNRECORDED_SHOWN :]],
                        "events": failure.events,
                        "samples": failure.samples,
                    }
                )
            )

    async def _send(self, client: Client) -> None:
        """This client's own task: records as they come; dropped when it stops reading."""
        try:
            while not client.ended:
                await client.wake.wait()
                client.wake.clear()
                if client.sent < self.feed.count - 256:
                    # Catching up a long journal: read it off the event loop.
                    lines = await asyncio.to_thread(self.feed.lines, client.sent, self.feed.count)
                    stop = client.sent + len(lines)
                    for line in lines:
                        client.writer.write(
                            p.encode({"type": "record", "line": line.decode("utf-8")})
                        )
                        if client.writer.transport.get_write_buffer_size() > 1 << 20:
                            await self._drain(client)
                    client.sent = stop
                else:
                    self._flush_to(client)
                await self._drain(client)
        except (ConnectionError, OSError):
            self._close(client)

    async def _drain(self, client: Client) -> None:
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                await client.writer.drain()
        except TimeoutError:
            # Dropped at once: what it did not read stays unread (it catches up from the
            # journal when it comes back), and closing would wait for it to read.
            log.warning("attach: %s too slow, dropped", client.who)
            client.why = f"dropped: it read nothing for {DRAIN_TIMEOUT:g} s"
            client.ended = True
            client.wake.set()
            client.writer.transport.abort()

    def _end(self, client: Client, reason: str, *, again: bool = False) -> None:
        if client.ended:
            return
        with contextlib.suppress(OSError, RuntimeError):
            client.writer.write(p.encode({"type": "end", "reason": reason, "again": again}))
        self._close(client)

    def _close(self, client: Client) -> None:
        client.ended = True
        client.wake.set()
        with contextlib.suppress(OSError, RuntimeError):
            client.writer.close()

    # ------------------------------------------------------------ reading

    async def _read(self, reader: asyncio.StreamReader, client: Client) -> None:
        while not client.ended:
            try:
                line = await _line(reader)
                if not line:
                    return  # the client left (or was killed)
                message = p.parse_client(line)
                if isinstance(message, p.Bye):
                    return
                if isinstance(message, p.Hello):
                    raise p.BadMessage("hello twice")
            except (p.BadMessage, ValueError) as exc:
                self._bad_input(client.writer, client.peer, exc, client)
                return
            except (ConnectionError, OSError):
                return
            answer = await self._act(client, message)
            if not client.ended:
                with contextlib.suppress(OSError, RuntimeError):
                    client.writer.write(p.encode(answer))

    async def _act(self, client: Client, act: p.Act) -> dict[str, Any]:
        """Do what a key of the client's role would do, as the client's OS user."""
        answer: dict[str, Any] = {"type": "answer", "id": act.id, "ok": True, "reason": None}
        try:
            if act.action == "rerun_checks":
                self._refuse_observer(client)
                self._spawn(self.session.run_checks())
                return answer
            intent = self.intent(client, act)
            await self.session.act(intent)
        except Refusal as refusal:
            answer.update(ok=False, reason=refusal.reason)
        return answer

    def _refuse_observer(self, client: Client) -> None:
        if client.role == "observer":
            raise Refusal(f"{client.peer.user} joined as an observer: observers only watch")

    def intent(self, client: Client, act: p.Act) -> i.Intent:
        """The intent a key of ``act`` makes, as the client's OS user.

        Raises:
            Refusal: the client's role has no such key, or a detail it needs is missing.
        """
        self._refuse_observer(client)
        role = client.role
        if act.role not in ("crew", role):
            raise Refusal(
                f"that is the {act.role.capitalize()}'s key; {client.peer.user} joined as"
                f" {role.capitalize()}"
            )
        peer = client.peer
        actor = Actor(role=role, user=peer.user, tty=peer.tty, uid=peer.uid)
        now = self.session.clock.wall()
        state = self.session.state
        action = act.action

        def need(value: str | None, what: str) -> str:
            if not value:
                raise Refusal(f"say {what}")
            return value

        if action == "rollback":
            who = f"{peer.user}'s terminal ({role.capitalize()})"
            return i.RollBackNow(actor, now, f"R pressed in {who}: ROLLING BACK NOW")
        if action == "readback":
            return i.ConfirmReadback(actor, now, typed=act.typed)
        if action == "go":
            return i.Go(actor, now)
        if action == "confirm":
            check = act.check or manual_pending(state, role)
            return i.ConfirmManualCheck(actor, now, need(check, "which check"))
        if action == "verify":
            step_id = need(act.step, "which step")
            command = next(
                (tuple(s.command) for _, s in self.session.profile.steps() if s.id == step_id),
                (),
            )
            return i.VerifyStep(actor, now, step_id, command)
        if action == "run_step":
            return i.RunStep(actor, now, need(act.step, "which step"))
        if action == "acknowledge":
            return i.AcknowledgeIrreversible(
                actor, now, need(act.step, "which step"), typed=act.typed
            )
        if action == "approve":
            approver = Actor("approver", peer.user, peer.tty, peer.uid)
            return i.ApproveStep(approver, now, need(act.step, "which step"), typed=act.typed)
        if action == "accept":
            return i.AcceptInconclusive(actor, now, need(act.reason, "why it is acceptable"))
        if action == "hold":
            return i.Hold(actor, now, need(act.reason, "why"))
        if action == "resume":
            return i.Resume(actor, now)
        if action == "nogo":
            return i.NoGo(actor, now, need(act.reason, "what is not ready"))
        if action == "abort":
            return i.Abort(actor, now, need(act.reason, "why"))
        raise Refusal(f"unknown action {action}")  # the protocol lets none through

    # ------------------------------------------------------------ the record

    def _record_left(self, client: Client, why: str) -> None:
        if not client.left:
            client.left = True
            self._record_attach(client, "left", why=why)

    def _record_attach(self, client: Client, change: str, **more: str) -> None:
        peer = client.peer
        details = {
            "connection": client.id,
            "user": peer.user,
            "uid": peer.uid,
            "pid": peer.pid,
            "tty": peer.tty,
            "role": client.role,
            **more,
        }
        actor = Actor(client.role, peer.user, peer.tty, peer.uid)
        with contextlib.suppress(Refusal, ValueError, JournalError):
            self.session.recorder.decide(
                i.RecordAttach(actor, self.session.clock.wall(), change, details)
            )

    def _refuse(self, writer: asyncio.StreamWriter, peer: Peer, role: str | None, why: str) -> None:
        """Refuse a connection, say why to the peer, record who it was."""
        text = f"refused: {why}"
        log.warning("attach: %s (uid %d, pid %d)", text, peer.uid, peer.pid)
        self.refused.append(f"{peer.user} (uid {peer.uid}) was refused: {why}")
        body = {"user": peer.user, "uid": peer.uid, "pid": peer.pid, "tty": peer.tty}
        self.session.recorder.fact(
            Kind.ATTACH_REFUSED,
            {**body, "role": role, "why": why},
            Actor(role or "unknown", peer.user, peer.tty, peer.uid),
        )
        if self.on_refused is not None:
            self.on_refused(self.refused[-1])
        with contextlib.suppress(OSError, RuntimeError):
            writer.write(p.encode({"type": "refused", "reason": text}))
            writer.close()

    def _bad_input(
        self,
        writer: asyncio.StreamWriter,
        peer: Peer,
        exc: BaseException,
        client: Client | None = None,
    ) -> None:
        """A message that is not one: refused, logged, recorded, connection closed."""
        why = "no hello in time" if isinstance(exc, TimeoutError) else str(exc)
        text = f"bad message from {peer.user} (uid {peer.uid}, pid {peer.pid}): {why}"
        log.warning("attach: %s", text)
        self.session.recorder.note(f"attach: {text}; connection closed")
        with contextlib.suppress(OSError, RuntimeError):
            writer.write(p.encode({"type": "refused", "reason": f"refused: {why}"}))
        if client is not None:
            self._close(client)
        else:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()


async def _line(reader: asyncio.StreamReader) -> bytes:
    """One line from a client.

    Raises:
        p.BadMessage: longer than a client's line may be.
    """
    try:
        return await reader.readline()
    except ValueError:  # asyncio's own words for it: "Separator is found, but chunk is ..."
        raise p.BadMessage(f"a line longer than {p.CLIENT_LINE_LIMIT} bytes") from None
