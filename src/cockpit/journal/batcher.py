"""Merge many small events (output lines, probe samples) into one record per interval."""

from __future__ import annotations

from typing import Any

from cockpit.journal.records import Actor, Record, canonical_json
from cockpit.journal.writer import Journal


class Batcher:
    """Collects items per key and writes them as one record when the caller flushes.

    Caller-driven and thread-free: the owner calls ``flush`` on its own timer. Only for
    high-rate records; intents and decisions go straight to ``Journal.append``.
    """

    def __init__(self, journal: Journal, kind: str, *, actor: Actor) -> None:
        """Batch records of ``kind`` written by ``actor`` into ``journal``."""
        self._journal = journal
        self._kind = kind
        self._actor = actor
        self._pending: dict[str, list[Any]] = {}
        self._count = 0

    def __len__(self) -> int:
        """Items waiting for the next flush."""
        return self._count

    def add(self, key: str, item: Any) -> None:
        """Queue one item under ``key``.

        Raises:
            ValueError: the item holds NaN or infinity or text that is not valid Unicode;
                checked now so that one bad item cannot poison a whole batch later.
            TypeError: the item is not JSON-serialisable.
        """
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise ValueError(f"{self._kind} item under {key!r}: {exc}") from exc
        else:
            try:
                canonical_json(item)
            except ValueError as exc:
                raise ValueError(f"{self._kind} item under {key!r}: NaN or infinity") from exc
        self._pending.setdefault(key, []).append(item)
        self._count += 1

    def flush(self, *, wall: float, t_plus: float | None) -> Record | None:
        """Write everything queued as one record ``{key: [items...]}``; None if nothing was.

        The queue is emptied before writing: if the journal has failed, retrying the same
        items later would not help.

        Raises:
            JournalFailed: the journal cannot record.
        """
        if not self._pending:
            return None
        body, self._pending, self._count = self._pending, {}, 0
        return self._journal.append(self._kind, body, actor=self._actor, wall=wall, t_plus=t_plus)
