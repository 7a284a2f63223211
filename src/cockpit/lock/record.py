"""What a deploy lock says: who holds it, since when, why, and in which state.

A lock record is read from a file other users can write next to (a shared lock directory)
or from etcd: every byte of it is validated like a profile before anything believes it.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cockpit import pydantic_plugins

pydantic_plugins.skip_lookup()  # before the first model here (see cockpit.pydantic_plugins)

RECORD_LIMIT = 64 * 1024
"""The largest lock record read (a real one is a few hundred bytes)."""

HELD = "held"
ROLLED_BACK = "rolled back"
RELEASED = "released"
LockStateName = Literal["held", "rolled back", "released"]

_NAME_JUNK = re.compile(r"[^a-z0-9._-]+")


class LockRecordError(ValueError):
    """A lock record that is not one: the message says what is wrong."""


@dataclass(frozen=True, order=True)
class LockKey:
    """What one crew at a time may act on: a service in an environment."""

    service: str
    environment: str

    @property
    def name(self) -> str:
        """A file-name-safe form, the same on every host: ``demo-web@production``."""
        return f"{_safe(self.service)}@{_safe(self.environment)}"

    def __str__(self) -> str:
        return f"{self.service}/{self.environment}"


def _safe(text: str) -> str:
    slug = _NAME_JUNK.sub("-", text.lower()).strip("-.")
    return slug[:100] or "unnamed"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class HolderModel(_Strict):
    user: str = Field(min_length=1, max_length=64)
    uid: int = Field(ge=0)
    host: str = Field(min_length=1, max_length=255)
    pid: int = Field(ge=0)
    start: int = Field(ge=0)
    session: str = Field(max_length=4096)


class RecordModel(_Strict):
    version: Literal[1]
    service: str = Field(min_length=1, max_length=200)
    environment: str = Field(min_length=1, max_length=200)
    state: LockStateName
    holder: HolderModel
    since: float
    why: str = Field(max_length=1000)
    written: float
    rolled_back_at: float | None = None
    reason: str | None = Field(default=None, max_length=1000)
    by: str | None = Field(default=None, max_length=200)


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: the OS user, the host, the cockpit's process and its session.

    ``start`` is the process's start time in clock ticks since boot (``/proc/PID/stat``):
    with the pid it names one process, never a later one that reused the number.
    """

    user: str
    uid: int
    host: str
    pid: int
    start: int
    session: str
    """The session's journal."""

    def to_json(self) -> dict[str, Any]:
        """The holder as a JSON object."""
        return {
            "user": self.user,
            "uid": self.uid,
            "host": self.host,
            "pid": self.pid,
            "start": self.start,
            "session": self.session,
        }

    @property
    def where(self) -> str:
        """``ada@bastion (pid 123)``."""
        return f"{self.user}@{self.host} (pid {self.pid})"


@dataclass(frozen=True)
class LockRecord:
    """A lock's state as written by its last writer.

    Attributes:
        state: ``held`` while a session holds it; ``rolled back`` after a rollback, until the
            crew releases it; ``released`` when free.
        rolled_back_at: When the rollback ended (``rolled back``).
        reason: The rollback's reason (``rolled back``) or the release's (``released``).
        by: Who released it (``released``).
    """

    key: LockKey
    state: str
    holder: Holder
    since: float
    why: str
    written: float
    rolled_back_at: float | None = None
    reason: str | None = None
    by: str | None = None
    owner_uid: int | None = field(default=None, compare=False)
    """The OS user who wrote the record (the file's owner), where the store says."""

    @property
    def locked(self) -> bool:
        """Whether the lock stops another session (held, or kept after a rollback)."""
        return self.state != RELEASED

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object."""
        return {
            "version": 1,
            "service": self.key.service,
            "environment": self.key.environment,
            "state": self.state,
            "holder": self.holder.to_json(),
            "since": self.since,
            "why": self.why,
            "written": self.written,
            "rolled_back_at": self.rolled_back_at,
            "reason": self.reason,
            "by": self.by,
        }

    def encode(self) -> bytes:
        """The record as the bytes stored."""
        return (json.dumps(self.to_json(), sort_keys=True, allow_nan=False) + "\n").encode()

    def describe(self) -> str:
        """One line: the state, who, since when, why."""
        when = _clock(self.since)
        if self.state == ROLLED_BACK:
            at = _clock(self.rolled_back_at or self.written)
            return (
                f"{self.key}: ROLLED BACK at {at} UTC, reason: {self.reason or '?'}"
                f" (session of {self.holder.user}@{self.holder.host})"
            )
        if self.state == RELEASED:
            return f"{self.key}: released by {self.by or '?'}: {self.reason or '?'}"
        return f"{self.key}: held by {self.holder.where} since {when} UTC: {self.why}"


def _clock(wall: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(wall))


def decode_record(data: bytes, *, where: str) -> LockRecord:
    """Parse and validate stored bytes.

    Raises:
        LockRecordError: not a lock record; the message names ``where`` and what is wrong.
    """
    if len(data) > RECORD_LIMIT:
        raise LockRecordError(f"{where}: {len(data)} bytes, more than a lock record may be")
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
        model = RecordModel.model_validate(obj)
    except (UnicodeDecodeError, ValueError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        what = (
            f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
            if first is not None
            else str(exc).splitlines()[0]
        )
        raise LockRecordError(f"{where}: not a lock record ({what})") from None
    h = model.holder
    return LockRecord(
        key=LockKey(model.service, model.environment),
        state=model.state,
        holder=Holder(h.user, h.uid, h.host, h.pid, h.start, h.session),
        since=model.since,
        why=model.why,
        written=model.written,
        rolled_back_at=model.rolled_back_at,
        reason=model.reason,
        by=model.by,
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a lock record may hold")
