"""Secret redaction for process output, results and messages.

Standard library only and free of package-relative imports: the detached
supervisor (``supervise.py``) loads this file directly by path.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

#: Values shorter than this are not redacted. A 1–3 character "secret" (``1``,
#: ``on``, ``dev``) would blank out ordinary words and numbers all over the
#: output, making it useless, while hiding nothing an attacker could not guess
#: in a few tries anyway. Such values are not secrets; treat them as a profile
#: mistake, not something to hide.
MIN_SECRET_LENGTH = 4


class Redactor:
    """Replaces every occurrence of a secret value by ``[REDACTED]``.

    Longer secrets win when two start at the same place, so a secret that is a
    prefix of another never leaves the longer one's tail visible.

    A secret that is itself a substring of ``[REDACTED]`` or contains ``[`` or
    ``]`` can appear to re-form around a marker; that reveals nothing that was
    not already visible, so it is not treated as a leak.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        # Longest first: regex alternation takes the first alternative that matches.
        self.secrets: tuple[str, ...] = tuple(sorted(unique, key=lambda s: (-len(s), s)))
        self.max_length = len(self.secrets[0]) if self.secrets else 0
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in self.secrets)) if self.secrets else None
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret replaced."""
        if self._pattern is None:
            return text
        return self._pattern.sub(REDACTED, text)

    def stream(self) -> RedactingStream:
        """A streaming redactor for output that arrives in chunks."""
        return RedactingStream(self)

    def _first_unsettled(self, buf: str, start: int) -> int:
        """First position at or after ``start`` where a longer secret could still begin."""
        n = len(buf)
        pos = max(start, n - self.max_length + 1)
        while pos < n:
            tail = buf[pos:]
            if any(len(s) > n - pos and s.startswith(tail) for s in self.secrets):
                return pos
            pos += 1
        return n


class RedactingStream:
    """Redacts a stream fed in arbitrary chunks.

    The concatenation of everything returned by :meth:`feed` and
    :meth:`finish` equals ``redactor.redact(whole_text)``. To get there it
    holds back at most ``max_length - 1`` characters, and only those that
    could still be the start of a secret. Bytes are decoded as UTF-8 (invalid
    bytes become U+FFFD), also when a character is split across chunks.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._held = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes | str) -> str:
        """Add a chunk; return the redacted text that is safe to emit now."""
        text = self._decoder.decode(data) if isinstance(data, bytes) else data
        red = self._redactor
        pattern = red._pattern
        if pattern is None:
            return text
        buf = self._held + text
        out: list[str] = []
        pos = 0
        # Everything before `limit` is settled: no later text can change how it redacts.
        limit = red._first_unsettled(buf, 0)
        for match in pattern.finditer(buf):
            if match.start() >= limit:
                break
            out.append(buf[pos : match.start()])
            out.append(REDACTED)
            pos = match.end()
            if pos > limit:
                limit = red._first_unsettled(buf, pos)
        out.append(buf[pos:limit])
        self._held = buf[limit:]
        return "".join(out)

    def finish(self) -> str:
        """Flush what was held back (and any incomplete UTF-8 sequence)."""
        tail = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        return self._redactor.redact(tail)
