"""The attach protocol: one JSON object per line, each validated like a profile.

A client says ``hello`` (the role it asks for, and how many records it has), then may ask
to ``act`` (the keys of its role, by name). The server answers ``welcome`` or ``refused``,
sends the journal's records one by one (``record``: the line exactly as on disk, so the
client verifies the hash chain itself and folds the records with the engine), answers each
``act``, and ends with ``end`` (the cockpit quit, or the client was too slow: reconnect).

Who the client is never comes from a message: the server reads it from the socket
(``SO_PEERCRED``). A message that is not valid JSON, has unknown or missing fields, the
wrong types, or is longer than a line may be, ends the connection.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from cockpit import pydantic_plugins

pydantic_plugins.skip_lookup()  # before the first model here (see cockpit.pydantic_plugins)

VERSION = 1
CLIENT_LINE_LIMIT = 4096
"""The longest line a client may send (a reason of 500 characters fits many times)."""
SERVER_LINE_LIMIT = 16 << 20
"""The longest line a server sends (a record holding a 4 MiB profile, escaped)."""
REASON_LIMIT = 500
OUTPUT_LINE = 4000
"""The longest line of a process's output sent to a joined terminal (its screen shows less)."""
OUTPUT_BATCH = 200
"""Lines of output in one message."""
UNRECORDED_SHOWN = 20
"""The newest decisions not on record that a joined terminal is told of (its screen shows
three; the session's own exit message lists them all)."""

ACTIONS = (
    "rollback",
    "readback",
    "go",
    "confirm",
    "verify",
    "run_step",
    "acknowledge",
    "approve",
    "accept",
    "hold",
    "resume",
    "nogo",
    "abort",
    "rerun_checks",
)
"""What a client may ask for: the session's own keys, by name, and nothing else."""

_ID = r"^[a-z0-9][a-z0-9_.-]*$"


class BadMessage(ValueError):
    """A message that is not one of the protocol's: what is wrong, in one line."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Hello(_Message):
    """A client's first message."""

    type: Literal["hello"]
    version: Literal[1]
    role: Literal["monitor", "observer"]
    have: int = Field(ge=0, le=1 << 40)
    """How many records the client has already (0: send all)."""
    last: str = Field(default="", max_length=64, pattern=r"^[0-9a-f]*$")
    """The hash of the client's last record (checked against the journal)."""


class Act(_Message):
    """A key pressed in the client's terminal."""

    type: Literal["act"]
    id: int = Field(ge=1, le=1 << 31)
    action: Literal[ACTIONS]  # type: ignore[valid-type]
    role: Literal["operator", "monitor", "crew"] = "crew"
    """The role whose key it is ("crew": a key anyone may press)."""
    check: str | None = Field(default=None, max_length=64, pattern=_ID)
    step: str | None = Field(default=None, max_length=64, pattern=_ID)
    reason: str | None = Field(default=None, max_length=REASON_LIMIT)
    typed: str | None = Field(default=None, max_length=REASON_LIMIT)
    """What the person typed to confirm (the readback's answer, a name to copy)."""


class Bye(_Message):
    """The client leaves."""

    type: Literal["bye"]


ClientMessage = Annotated[Hello | Act | Bye, Field(discriminator="type")]
_CLIENT = TypeAdapter(ClientMessage)


def parse_client(line: bytes) -> Hello | Act | Bye:
    """Parse one line from a client.

    Raises:
        BadMessage: not a message of the protocol; the text says what is wrong.
    """
    try:
        text = line.decode("utf-8")
        obj = json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage(f"not JSON ({str(exc).splitlines()[0]})") from None
    try:
        return _CLIENT.validate_python(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise BadMessage(f"{where}: {first['msg']}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def encode(message: dict[str, Any]) -> bytes:
    """One message as the line sent."""
    return (json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


# ---------------------------------------------------------------- what the server sends


class Welcome(_Message):
    type: Literal["welcome"]
    role: Literal["monitor", "observer"]
    user: str = Field(max_length=64)
    uid: int = Field(ge=0)
    owner: str = Field(max_length=64)
    session: str = Field(max_length=200)
    journal: str = Field(max_length=4096)
    tty: str | None = Field(default=None, max_length=64)
    count: int = Field(ge=0)
    """How many records the journal holds now: all of them follow (or those after the
    client's ``have``)."""


class Refused(_Message):
    type: Literal["refused"]
    reason: str = Field(max_length=2000)


class Record(_Message):
    type: Literal["record"]
    line: str = Field(max_length=SERVER_LINE_LIMIT)


class Answer(_Message):
    type: Literal["answer"]
    id: int = Field(ge=1)
    ok: bool
    reason: str | None = Field(default=None, max_length=2000)


class End(_Message):
    type: Literal["end"]
    reason: str = Field(max_length=2000)
    again: bool = False
    """Whether to reconnect (the client was dropped for being slow)."""


class Output(_Message):
    """New lines of the running process's output (redacted and inert as the session's own
    screen shows them): a crew member who may not read the file sees it all the same."""

    type: Literal["output"]
    path: str = Field(max_length=4096)
    lines: list[Annotated[str, Field(max_length=OUTPUT_LINE)]] = Field(max_length=OUTPUT_BATCH)


class Unrecorded(_Message):
    """The session's journal failed: why, and what is not on record (the joined terminals
    cannot read it from the journal, so the session says it)."""

    type: Literal["unrecorded"]
    why: str = Field(max_length=2000)
    decisions: list[Annotated[str, Field(max_length=500)]] = Field(max_length=UNRECORDED_SHOWN)
    events: int = Field(ge=0)
    samples: int = Field(ge=0)


ServerMessage = Annotated[
    Welcome | Refused | Record | Answer | End | Output | Unrecorded, Field(discriminator="type")
]
_SERVER = TypeAdapter(ServerMessage)


def parse_server(
    line: bytes,
) -> Welcome | Refused | Record | Answer | End | Output | Unrecorded:
    """Parse one line from the server (the client checks what it is told too).

    Raises:
        BadMessage: not a message of the protocol.
    """
    try:
        obj = json.loads(line.decode("utf-8"), parse_constant=_no_constant)
        return _SERVER.validate_python(obj)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage(f"the session sent something that is not a message: {exc}") from None
