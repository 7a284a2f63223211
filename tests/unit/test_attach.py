"""The attach socket: real Unix sockets, real peer credentials, a real session and journal.

The crew's own OS users are in ``tests/e2e/test_crew_tmux.py``; here the session's owner
joins, misbehaves, is slow, and a third user (a real second OS user) is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import tomllib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import tomli_w

from cockpit.attach import protocol as p
from cockpit.attach import server as attach_server
from cockpit.attach.client import AttachedSession, AttachRefused, Link
from cockpit.attach.places import PlaceRefused, owner_directory, prepare_directory, read_index
from cockpit.attach.server import AttachServer
from cockpit.engine import SYSTEM, Refusal
from cockpit.engine import intents as i
from cockpit.engine.kinds import Kind
from cockpit.journal import JournalDamaged, read_journal
from cockpit.journal.records import GENESIS_PREV, encode_record
from cockpit.sample import Sample, Status
from cockpit.session import Session
from cockpit.session.record import JournalFailure
from tests.support.other_user import crew_of_users
from tests.support.processes import wait_for
from tests.support.quick import run_the_first_step

QUICK = Path(__file__).resolve().parents[1] / "data" / "session" / "quick.toml"


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A host directory of our own, with a short path (a socket path has at most 107 bytes)."""
    base = Path(tempfile.mkdtemp(prefix="ck-"))
    base.chmod(0o1777)
    monkeypatch.setenv("COCKPIT_RUNTIME_DIR", str(base))
    try:
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def profile_with(tmp_path: Path, **tables: object) -> Path:
    data = tomllib.loads(QUICK.read_text())
    data.update(tables)
    path = tmp_path / "quick-crew.toml"
    path.write_text(tomli_w.dumps(data))
    return path


@pytest.fixture
async def served(tmp_path: Path, runtime: Path) -> AsyncIterator[tuple[Session, AttachServer]]:
    session = Session.create(QUICK, sessions_dir=tmp_path / "sessions", environ={})
    server = AttachServer(session, owner_directory())
    task = asyncio.get_running_loop().create_task(server.serve())
    await asyncio.wait_for(server.ready.wait(), 10)
    try:
        yield session, server
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()


class Raw:
    """A client that speaks the protocol by hand, to say what a real client never would."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(str(path))
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def message(self) -> dict[str, object]:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        parsed: dict[str, object] = json.loads(line)
        return parsed

    def until(self, kind: str) -> dict[str, object]:
        while True:
            message = self.message()
            if message["type"] == kind:
                return message

    def closed(self) -> bool:
        try:
            while True:
                self.message()
        except (ConnectionError, OSError):
            return True


def hello(role: str = "observer", have: int = 0, last: str = "") -> bytes:
    return p.encode({"type": "hello", "version": 1, "role": role, "have": have, "last": last})


# ---------------------------------------------------------------- the protocol


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"not json", "not JSON"),
        (b'{"type": "hello"}', "version"),
        (b'{"type": "act", "id": 1, "action": "rm -rf /"}', "action"),
        (b'{"type": "act", "id": "1", "action": "rollback"}', "id"),
        (b'{"type": "act", "id": 1, "action": "rollback", "as": "root"}', "as"),
        (b'{"type": "act", "id": 1, "action": "hold", "reason": NaN}', "not JSON"),
        (b'{"type": "act", "id": 1, "action": "verify", "step": "../x"}', "step"),
        (b'{"type": "hello", "version": 1, "role": "operator", "have": 0}', "role"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_a_message_that_is_not_one_is_refused_naming_what(line: bytes, words: str) -> None:
    with pytest.raises(p.BadMessage, match=words):
        p.parse_client(line)


# ---------------------------------------------------------------- joining


async def test_the_owner_joins_as_an_observer_and_folds_the_same_records(
    served: tuple[Session, AttachServer],
) -> None:
    session, server = served
    joined = await asyncio.to_thread(
        AttachedSession.join, server.path, owner_uid=os.geteuid(), role="observer"
    )
    follow = asyncio.get_running_loop().create_task(joined.run_clock())
    try:
        assert joined.read_only and joined.state.profile == session.state.profile
        session.submit(i.Hold(session.crew.anyone(), session.clock.wall(), "pager"))
        await wait_for(lambda: joined.state.hold is not None, 10, "the hold to arrive")
        assert joined.state.hold is not None and joined.state.hold.reason == "pager"
        with pytest.raises(Refusal, match="observers only watch"):
            await joined.act(i.Resume(joined.crew.anyone(), 0.0))
        index = read_index(owner_directory(), os.geteuid())
        assert [e.id for e in index] == [session.journal_path.stem]
    finally:
        follow.cancel()
        await joined.stop()
    records = read_journal(session.journal_path)
    joined_records = [r for r in records if r.kind == Kind.ATTACH_JOINED]
    assert joined_records and joined_records[0].body["uid"] == os.geteuid()
    await wait_for(
        lambda: Kind.ATTACH_LEFT in [r.kind for r in read_journal(session.journal_path)],
        10,
        "the leaving to be recorded",
    )


async def test_with_nobody_joined_the_server_looks_at_the_journal_once_a_second(
    served: tuple[Session, AttachServer],
) -> None:
    """An idle cockpit is not woken ten times a second, nor by every sample, for terminals
    that are not there; one that joins is served at the pace it needs from then on."""
    session, server = served
    assert server.poll_interval() == attach_server.IDLE_POLL
    clock = session.clock
    session.on_sample(Sample("error-rate", Status.PASS, 0.1, "%", clock.wall(), "0.1 %"))
    session.submit(i.Hold(session.crew.anyone(), clock.wall(), "pager"))
    assert not server._poke.is_set()
    joined = await asyncio.to_thread(
        AttachedSession.join, server.path, owner_uid=os.geteuid(), role="observer"
    )
    follow = asyncio.get_running_loop().create_task(joined.run_clock())
    try:
        assert server.poll_interval() == attach_server.POLL
        assert joined.state.hold is not None
        session.submit(i.Resume(session.crew.anyone(), clock.wall()))
        await wait_for(lambda: joined.state.hold is None, 10, "the resume to arrive")
    finally:
        follow.cancel()
        await joined.stop()


async def lines_of(joined: AttachedSession, path: Path) -> list[str]:
    """The output of ``path`` a joined terminal's screen reads, up to the step's last line."""
    source = joined.output_source(path)
    seen: list[str] = []

    def done() -> bool:
        seen.extend(source.read_lines())
        return "done" in seen

    await wait_for(done, 10, "the step's output")
    return seen


async def test_a_joined_terminal_sees_the_steps_output_the_session_sends(
    served: tuple[Session, AttachServer],
) -> None:
    """The output file is the session owner's (0600 in a 0700 directory): a crew member
    of another OS user could not read it; the session sends its lines, redacted and inert,
    to whoever joined, also to a terminal that joins after the step began."""
    session, server = served
    joined = await asyncio.to_thread(
        AttachedSession.join, server.path, owner_uid=os.geteuid(), role="observer"
    )
    follow = asyncio.get_running_loop().create_task(joined.run_clock())
    try:
        await run_the_first_step(session)
        await wait_for(
            lambda: joined.last_process_started is not None, 10, "the step's record to arrive"
        )
        started = joined.last_process_started
        assert started is not None
        path = Path(str(started.body["output"]))
        assert await lines_of(joined, path) == ["deploying", "done"]
        # A terminal that joins now gets the lines it missed.
        late = await asyncio.to_thread(
            AttachedSession.join, server.path, owner_uid=os.geteuid(), role="observer"
        )
        late_follow = asyncio.get_running_loop().create_task(late.run_clock())
        try:
            assert await lines_of(late, path) == ["deploying", "done"]
        finally:
            late_follow.cancel()
            await late.stop()
    finally:
        follow.cancel()
        await joined.stop()


def told_by(joined: AttachedSession) -> JournalFailure | None:
    return joined.journal_failure


async def test_a_joined_terminal_is_told_what_the_sessions_failed_journal_did_not_record(
    served: tuple[Session, AttachServer],
) -> None:
    """What is not on record never reaches the journal a joined terminal follows: the
    session tells it, and its screen says JOURNAL FAILED and what is missing, as the
    session's own screen does."""
    session, server = served
    joined = await asyncio.to_thread(
        AttachedSession.join, server.path, owner_uid=os.geteuid(), role="observer"
    )
    follow = asyncio.get_running_loop().create_task(joined.run_clock())
    try:
        assert told_by(joined) is None
        broken = OSError(5, "Input/output error")

        def fsync(fd: int) -> None:
            raise broken

        session.journal._fsync = fsync
        with contextlib.suppress(Refusal):  # the hold itself cannot be recorded
            session.submit(i.Hold(session.crew.anyone(), session.clock.wall(), "pager"))
        now = session.clock.wall()
        for _ in range(3):
            session.submit(
                i.RecordSample(SYSTEM, now, Sample("error-rate", Status.PASS, 0.1, "%", now, "ok"))
            )
        own = session.journal_failure
        assert own is not None and own.samples == 3
        await wait_for(
            lambda: getattr(told_by(joined), "samples", None) == 3,
            10,
            "the joined terminal to be told",
        )
        told = told_by(joined)
        assert told is not None
        assert told.why == f"on the session's cockpit: {own.why}"
        assert (told.decisions, told.events) == (own.decisions, own.events)
    finally:
        follow.cancel()
        await joined.stop()


def test_a_refusal_sent_before_the_hello_is_read_not_lost_to_a_broken_pipe(
    runtime: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session refuses a user it does not know at once and closes; a hello sent after
    that meets a shut socket, and the reason must still reach the user (it said "cannot
    reach the session: Broken pipe")."""
    directory = owner_directory()
    prepare_directory(directory)
    path = directory / "refuse.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    closed = threading.Event()

    def refuse() -> None:
        conn, _ = listener.accept()
        conn.sendall(p.encode({"type": "refused", "reason": "refused: eve is not in the crew"}))
        conn.close()
        closed.set()

    server = threading.Thread(target=refuse)
    server.start()
    send = Link.send

    def late_send(self: Link, message: dict[str, object]) -> None:
        assert closed.wait(10)  # the hello goes out after the session closed
        send(self, message)

    monkeypatch.setattr(Link, "send", late_send)
    try:
        with pytest.raises(AttachRefused, match="refused: eve is not in the crew"):
            Link(path, os.geteuid(), "monitor").open(0, "")
    finally:
        server.join(10)
        listener.close()


async def test_without_a_crew_nobody_joins_as_monitor_and_the_refusal_is_recorded(
    served: tuple[Session, AttachServer],
) -> None:
    session, server = served
    with pytest.raises(AttachRefused, match="may join as observer only"):
        await asyncio.to_thread(
            AttachedSession.join, server.path, owner_uid=os.geteuid(), role="monitor"
        )
    refused = [r for r in read_journal(session.journal_path) if r.kind == Kind.ATTACH_REFUSED]
    assert len(refused) == 1
    assert refused[0].body["uid"] == os.geteuid() and refused[0].body["role"] == "monitor"


async def test_bad_input_is_refused_logged_and_the_connection_closed(
    served: tuple[Session, AttachServer],
) -> None:
    session, server = served
    for line in (b'{"type": "act", "id": 1, "action": "rollback"}\n', b"x" * 5000 + b"\n"):
        raw = await asyncio.to_thread(Raw, server.path)
        await asyncio.to_thread(raw.send, line)
        answer = await asyncio.to_thread(raw.message)
        assert answer["type"] == "refused"
        assert await asyncio.to_thread(raw.closed)
    raw = await asyncio.to_thread(Raw, server.path)
    await asyncio.to_thread(raw.send, hello())
    await asyncio.to_thread(raw.until, "welcome")
    await asyncio.to_thread(raw.send, b'{"type": "act", "id": 1, "action": "go", "sudo": 1}\n')
    assert (await asyncio.to_thread(raw.until, "refused"))["reason"] == (
        "refused: act.sudo: Extra inputs are not permitted"
    )
    assert await asyncio.to_thread(raw.closed)
    notes = [r.body["text"] for r in read_journal(session.journal_path) if r.kind == Kind.NOTE]
    assert len(notes) == 3 and all("connection closed" in n for n in notes), notes
    assert session.state.phase.value == "BRIEFING"  # nothing happened to the session


async def test_a_client_that_stops_reading_is_dropped_and_catches_up_when_back(
    served: tuple[Session, AttachServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, server = served
    monkeypatch.setattr(attach_server, "DRAIN_TIMEOUT", 0.3)
    raw = await asyncio.to_thread(Raw, server.path)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await asyncio.to_thread(raw.send, hello())
    await asyncio.to_thread(raw.until, "welcome")
    # The session goes on writing (about 2 MB) and never waits for this reader.
    for n in range(200):
        session.recorder.note(f"{n} " + "x" * 10_000)
    await wait_for(lambda: not server.clients, 20, "the slow client to be dropped")
    session.submit(i.Hold(session.crew.anyone(), session.clock.wall(), "still acting"))
    seen, last = 0, ""
    with contextlib.suppress(ConnectionError, OSError):
        while True:
            message = await asyncio.to_thread(raw.message)
            if message["type"] == "record":
                seen += 1
                last = str(json.loads(str(message["line"]))["hash"])
    total = len(read_journal(session.journal_path))
    assert 0 < seen < total, (seen, total)
    [left] = [r for r in read_journal(session.journal_path) if r.kind == Kind.ATTACH_LEFT]
    assert left.body["why"] == "dropped: it read nothing for 0.3 s"
    # Back again: the records it missed come from the journal, from where it was.
    back = await asyncio.to_thread(Raw, server.path)
    await asyncio.to_thread(back.send, hello(have=seen, last=last))
    assert int(str((await asyncio.to_thread(back.until, "welcome"))["count"])) >= total
    first = await asyncio.to_thread(back.until, "record")
    assert json.loads(str(first["line"]))["seq"] == seen + 1


def test_an_unsafe_runtime_directory_is_refused(runtime: Path, tmp_path: Path) -> None:
    mine = runtime / owner_directory().name
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o711)
    mine.symlink_to(elsewhere)
    with pytest.raises(PlaceRefused, match="is a symbolic link"):
        prepare_directory(owner_directory())
    mine.unlink()
    mine.mkdir()
    mine.chmod(0o771)
    with pytest.raises(PlaceRefused, match=r"writable by group or others \(mode 0771\)"):
        prepare_directory(owner_directory())
    mine.chmod(0o700)
    prepare_directory(owner_directory())
    assert oct(mine.stat().st_mode & 0o777) == "0o711"  # searchable: the crew reaches the socket


def test_a_crew_profile_is_not_opened_when_the_crew_could_not_join(
    runtime: Path, tmp_path: Path
) -> None:
    from tests.unit.test_planted_files import run_in_a_terminal

    profile = profile_with(tmp_path, crew={"monitor": "nobody"})
    mine = runtime / owner_directory().name
    mine.mkdir()
    mine.chmod(0o777)
    status, stderr = run_in_a_terminal(
        "run", str(profile), "--sessions-dir", str(tmp_path / "sessions")
    )
    assert status == 2, stderr
    assert stderr.startswith("error: the crew cannot join: attach directory"), stderr
    assert "writable by group or others" in stderr
    assert not (tmp_path / "sessions").exists() or not list((tmp_path / "sessions").glob("*.jsonl"))


# ---------------------------------------------------------------- by identity


async def test_the_operators_own_uid_cannot_act_as_monitor(tmp_path: Path, runtime: Path) -> None:
    profile = profile_with(tmp_path, crew={"monitor": "nobody"})
    session = Session.create(profile, sessions_dir=tmp_path / "sessions", environ={})
    server = AttachServer(session, owner_directory())
    task = asyncio.get_running_loop().create_task(server.serve())
    await asyncio.wait_for(server.ready.wait(), 10)
    joined = await asyncio.to_thread(
        AttachedSession.join, server.path, owner_uid=os.geteuid(), role="monitor"
    )
    follow = asyncio.get_running_loop().create_task(joined.run_clock())
    try:
        assert joined.seat == "monitor"
        with pytest.raises(Refusal, match=r"two-person rule: .* is the Operator"):
            await joined.act(i.ConfirmReadback(joined.crew.actor("monitor"), 0.0, typed="5m"))
        with pytest.raises(Refusal, match="that is the Operator's key"):
            await joined.act(i.Go(joined.crew.actor("operator"), 0.0))
    finally:
        follow.cancel()
        await joined.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()
    refused = [r for r in read_journal(session.journal_path) if r.kind == Kind.REFUSED]
    assert refused[0].actor.uid == os.geteuid() and refused[0].actor.role == "monitor"


async def test_a_user_the_profile_does_not_name_is_refused_by_name_and_recorded(
    served: tuple[Session, AttachServer],
) -> None:
    session, server = served
    script = (
        "import json, socket, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
        's.sendall(b\'{"type":"hello","version":1,"role":"observer","have":0}\\n\')\n'
        "print(s.makefile().readline())\n"
    )
    with crew_of_users() as crew:
        stranger = crew.stranger
        done = await asyncio.to_thread(
            subprocess.run,
            ["runuser", "-u", stranger.name, "--", crew.python, "-c", script, str(server.path)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "type": "refused",
        "reason": f"refused: {stranger.name} is not in this session's crew",
    }
    [refused] = [r for r in read_journal(session.journal_path) if r.kind == Kind.ATTACH_REFUSED]
    assert (refused.body["user"], refused.body["uid"]) == (stranger.name, stranger.uid)
    assert server.refused == [
        f"{stranger.name} (uid {stranger.uid}) was refused: {stranger.name} is not in this"
        " session's crew"
    ]


def test_a_joined_terminal_keeps_where_its_copy_ends_and_checks_records_sent_again() -> None:
    """No record is kept: a record sent again after a reconnect (from the start, when the
    session could not match this copy) must chain again to the very last one it has."""
    lines: list[str] = []
    prev = GENESIS_PREV
    for seq in range(1, 6):
        record, line = encode_record(
            seq=seq,
            wall=1.0 * seq,
            t_plus=None,
            actor=SYSTEM,
            kind="note",
            body={"n": seq},
            prev=prev,
        )
        lines.append(line.decode().rstrip("\n"))
        prev = record.hash
    joined = AttachedSession.__new__(AttachedSession)  # the reader's side alone
    taken = [joined._take(line) for line in lines[:3]]
    assert [r.seq for r in taken if r is not None] == [1, 2, 3]
    assert joined._have == (3, taken[2].hash if taken[2] else "")
    assert [joined._take(line) for line in lines[:3]] == [None, None, None]  # sent again
    assert joined._take(lines[3]) is not None and joined._have[0] == 4
    with pytest.raises(JournalDamaged, match="record 5: sequence number 6"):
        joined._take(lines[4].replace('"seq":5', '"seq":6'))
    other, _ = encode_record(
        seq=1, wall=9.0, t_plus=None, actor=SYSTEM, kind="note", body={}, prev=GENESIS_PREV
    )
    joined._again = (0, GENESIS_PREV)  # reconnected: the session starts again from record 1
    joined._have = (1, other.hash)  # ... and this copy's record 1 is not the session's
    with pytest.raises(JournalDamaged, match="differs from ours"):
        joined._take(lines[0])
