"""Tailing a step's (already redacted) output file for the UI."""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from cockpit.inert import inert, is_inert
from cockpit.runner.redact import Redactor


class OutputSource(Protocol):
    """Where a screen reads a process's output from: the file (:class:`OutputTail`), or the
    session's socket for a crew member who may not read the file."""

    path: Path

    def read_lines(self) -> list[str]:
        """New complete lines, shown as they may be (redacted, inert)."""
        ...

    def catch_up(self, keep: int) -> int:
        """Skip what is unread beyond the last ``keep`` bytes; how many bytes were skipped."""
        ...

    def flush_partial(self) -> list[str]:
        """The held partial last line, if any (then forgotten)."""
        ...


class OutputTail:
    """Returns the new complete lines of a growing file, a bounded amount per call.

    A partial last line is kept until its newline arrives (or
    :meth:`flush_partial` is called, e.g. when the step has ended). A line
    longer than ``max_line`` characters is cut into pieces so memory stays
    bounded. If the file shrinks (a step re-run truncated it), reading starts
    again from the beginning. The file may not exist yet.

    The lines are what a screen may show: ``secrets`` redacted once more (the supervisor
    redacted the file; this also covers a file written some other way), then inert (see
    :func:`cockpit.inert.inert`). The file itself keeps what the process wrote.
    """

    def __init__(
        self,
        path: Path,
        *,
        chunk: int = 65536,
        max_line: int = 1_000_000,
        secrets: Iterable[str] = (),
    ) -> None:
        self.path = path
        self.chunk = chunk
        self.max_line = max_line
        self._redactor = Redactor(secrets)
        self.offset = 0
        self._partial = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._drop_to_line_start = False

    def read_lines(self) -> list[str]:
        """New complete lines since the last call (at most ``chunk`` bytes read)."""
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:
                    self.offset = 0
                    self._partial = ""
                    self._decoder.reset()
                f.seek(self.offset)
                data = f.read(self.chunk)
        except FileNotFoundError:
            return []
        self.offset += len(data)
        text = self._partial + self._decoder.decode(data)
        if self._drop_to_line_start:
            newline = text.find("\n")
            if newline < 0:
                return []  # still inside the cut line (no partial kept: it is not whole)
            text = text[newline + 1 :]
            self._drop_to_line_start = False
        lines = text.split("\n")
        self._partial = lines.pop()
        while len(self._partial) > self.max_line:
            lines.append(self._partial[: self.max_line])
            self._partial = self._partial[self.max_line :]
        return self._shown([line.removesuffix("\r") for line in lines])

    def _shown(self, lines: list[str]) -> list[str]:
        """Lines as the screen may show them; a batch with nothing to change costs one scan
        of its text (a flood is read 64 KiB at a time)."""
        if not lines:
            return lines
        if self._redactor:
            lines = self._redactor.redact("\n".join(lines)).split("\n")
        if is_inert("\n".join(lines), multiline=True):
            return lines
        return [inert(line) for line in lines]

    def catch_up(self, keep: int) -> int:
        """Skip unread output beyond the last ``keep`` bytes; return how many bytes were skipped.

        For a screen that shows only the newest lines: when a step floods faster than the
        screen can follow, reading everything would only be thrown away. The partial line at
        the new position is dropped, so reading resumes at the next line start.
        """
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return 0
        behind = size - self.offset
        if behind <= keep:
            return 0
        skipped = behind - keep
        self.offset = size - keep
        self._partial = ""
        self._decoder.reset()
        self._drop_to_line_start = True
        return skipped

    def flush_partial(self) -> list[str]:
        """The held partial last line, if any, as a list (then forgotten)."""
        text = self._partial + self._decoder.decode(b"", final=True)
        self._partial = ""
        return self._shown([text.removesuffix("\r")]) if text else []
