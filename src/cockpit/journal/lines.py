"""Reading a file a line at a time in constant memory: the journal and its anchor file."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

CHUNK = 1 << 20
"""Bytes read at a time."""


class Lines:
    """The lines of the first ``limit`` bytes of an open file, read a chunk at a time.

    Iterating yields each line without its newline. Once the iteration has ended,
    ``remainder`` holds what follows the last newline (``b""`` when the data ends with one).
    """

    def __init__(self, fd: int, limit: int) -> None:
        """Read from ``fd``'s current position, at most ``limit`` bytes."""
        self._fd = fd
        self._left = limit
        self.remainder = b""

    def __iter__(self) -> Iterator[bytes]:
        """The whole lines, in order."""
        pending: list[bytes] = []  # the start of a line that goes on in the next chunk
        while self._left > 0:
            chunk = os.read(self._fd, min(CHUNK, self._left))
            if not chunk:
                break
            self._left -= len(chunk)
            lines = chunk.split(b"\n")
            rest = lines.pop()  # after the chunk's last newline
            if lines and pending:
                pending.append(lines[0])
                lines[0] = b"".join(pending)
                pending = []
            yield from lines
            if rest:
                pending.append(rest)
        self.remainder = b"".join(pending)


def with_last(items: Iterable[bytes]) -> Iterator[tuple[bytes, bool]]:
    """Each item with whether it is the last one (known before it is handed out)."""
    iterator = iter(items)
    try:
        current = next(iterator)
    except StopIteration:
        return
    for following in iterator:
        yield current, False
        current = following
    yield current, True
