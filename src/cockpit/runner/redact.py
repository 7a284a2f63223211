"""Secret redaction for process output, results and messages.

Standard library only and free of package-relative imports: the detached supervisor
(``supervise.py``) loads this file directly by path, and then this file loads ``inert.py``
(what a terminal shows, and what it hides) from the package directory by path too.
"""

from __future__ import annotations

import bisect
import codecs
import json
import re
from collections.abc import Iterable

TYPE_CHECKING = False  # not typing's: importing typing costs the supervisor ~10 ms
if TYPE_CHECKING:
    from types import ModuleType


def _load_inert() -> ModuleType:
    """``cockpit/inert.py`` for a caller without the ``cockpit`` package (the supervisor)."""
    import importlib.util
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(os.path.dirname(here), "inert.py")
    spec = importlib.util.spec_from_file_location("cockpit_inert", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING or __package__:
    from cockpit import inert
else:
    inert = _load_inert()

REDACTED = "[REDACTED]"

#: Values shorter than this are not redacted. A 1–3 character "secret" (``1``,
#: ``on``, ``dev``) would blank out ordinary words and numbers all over the
#: output, making it useless, while hiding nothing an attacker could not guess
#: in a few tries anyway. Such values are not secrets; treat them as a profile
#: mistake, not something to hide.
MIN_SECRET_LENGTH = 4

MAX_HOLD = 65536
"""Most characters a stream holds back for a secret interrupted by escape sequences or
invisible characters; past that the text is let through as it stands."""

Span = tuple[int, int]

_REMEMBERED: set[str] = set()


def remember_secrets(secrets: Iterable[str]) -> None:
    """Keep secret values this process resolved, for the last-resort redaction of a crash
    report (``cockpit.cli``): no traceback may print one."""
    _REMEMBERED.update(secrets)


def remembered_secrets() -> tuple[str, ...]:
    """Every secret value :func:`remember_secrets` was given in this process."""
    return tuple(_REMEMBERED)


def _written_forms(secret: str) -> set[str]:
    """A secret as written, and as JSON and ``repr()`` write it between the quotes."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
    }


class _View:
    """A text as a terminal shows it: its hidden runs (escape sequences, invisible
    characters) taken out. Where each run is, and so the way back from a shown character to
    the text, is worked out only when asked for: most texts never need it."""

    def __init__(self, text: str) -> None:
        self._source = text
        self._pattern = inert.hidden_pattern(text)
        self.text = self._pattern.sub("", text)
        self._runs: list[Span] | None = None
        self._shown_at: list[int] = []  # where each kept piece starts, shown
        self._text_at: list[int] = []  # and in the text

    @property
    def runs(self) -> list[Span]:
        """The hidden runs, in order."""
        if self._runs is None:
            self._runs = self._work_out()
        return self._runs

    def _work_out(self) -> list[Span]:
        runs = [match.span() for match in self._pattern.finditer(self._source)]
        pos = shown = 0
        for start, end in [*runs, (len(self._source), len(self._source))]:
            if start > pos:
                self._shown_at.append(shown)
                self._text_at.append(pos)
                shown += start - pos
            pos = end
        return runs

    def index_in_text(self, index: int) -> int:
        """Where the shown character ``index`` is in the text."""
        _ = self.runs
        k = bisect.bisect_right(self._shown_at, index) - 1
        return self._text_at[k] + index - self._shown_at[k]

    def shown_before(self, position: int) -> int:
        """How many characters are shown before ``position`` of the text."""
        if position >= len(self._source):
            return len(self.text)
        _ = self.runs
        k = bisect.bisect_right(self._text_at, position) - 1
        if k < 0:
            return 0
        end = self._shown_at[k + 1] if k + 1 < len(self._shown_at) else len(self.text)
        return min(self._shown_at[k] + position - self._text_at[k], end)


def _widen(span: Span, runs: list[Span], starts: list[int]) -> Span:
    """``span`` grown to whole runs where it begins or ends inside one, so that replacing it
    never leaves half an escape sequence to change how the rest is read."""
    start, end = span
    i = bisect.bisect_right(starts, start) - 1
    if i >= 0 and runs[i][0] < start < runs[i][1]:
        start = runs[i][0]
    j = bisect.bisect_right(starts, end - 1) - 1
    if j >= 0 and runs[j][0] < end < runs[j][1]:
        end = runs[j][1]
    return start, end


def _merge(spans: list[Span]) -> list[Span]:
    """Overlapping spans joined into one (spans that only touch stay apart)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


class Redactor:
    """Replaces every occurrence of a secret value by ``[REDACTED]``.

    Longer secrets win when two start at the same place, so a secret that is a
    prefix of another never leaves the longer one's tail visible.

    A secret is also found where a terminal would show it whole: interrupted by an
    escape sequence (``ESC[0m``), a control or an invisible character (U+200B, U+202E).
    The replacement then covers those too. A secret inside an escape sequence (the URL of
    an OSC 8 link) is found as written.

    A secret is also found as JSON and Python's ``repr()`` write it inside a string
    (``\\`` for a backslash, ``\\u00e9``): an answer or an error message that quotes it.

    A secret that is itself a substring of ``[REDACTED]`` or contains ``[`` or
    ``]`` can appear to re-form around a marker; that reveals nothing that was
    not already visible, so it is not treated as a leak.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        unique = {
            form
            for s in secrets
            if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH
            for form in _written_forms(s)
        }
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
        view = _View(text) if inert.has_hidden(text) else None
        return self._replace(text, self._spans(text, view), len(text))

    def redact_start(self, text: str, limit: int) -> str:
        """The redacted start of ``text``, read no further than ``limit`` characters.

        A secret that the limit cuts is left out, never shown in part (as a stream holds back
        what may still be a secret); so is an escape sequence that the limit cuts.
        """
        if len(text) <= limit:
            return self.redact(text)
        if self._pattern is None:
            return text[:limit]
        return self.stream().feed(text[:limit])

    def shown(self, text: str, *, multiline: bool = False) -> str:
        """What a display may show of outside text: secrets redacted, then made inert.

        See :func:`cockpit.inert.inert` for ``multiline``.
        """
        return inert.inert(self.redact(text), multiline=multiline)

    def stream(self) -> RedactingStream:
        """A streaming redactor for output that arrives in chunks."""
        return RedactingStream(self)

    def _spans(self, text: str, view: _View | None) -> list[Span]:
        """Where the secrets are in ``text``: as written, and as a terminal shows it."""
        assert self._pattern is not None
        spans = [match.span() for match in self._pattern.finditer(text)]
        if view is None:
            return spans
        if spans:
            runs = view.runs
            starts = [start for start, _ in runs]
            spans = [_widen(span, runs, starts) for span in spans]
        for match in self._pattern.finditer(view.text):
            start = view.index_in_text(match.start())
            spans.append((start, view.index_in_text(match.end() - 1) + 1))
        return _merge(spans)

    @staticmethod
    def _replace(text: str, spans: list[Span], limit: int) -> str:
        """``text[:limit]`` with each span (all inside it) replaced by the marker."""
        out: list[str] = []
        pos = 0
        for start, end in spans:
            out.append(text[pos:start])
            out.append(REDACTED)
            pos = end
        out.append(text[pos:limit])
        return "".join(out)

    def _first_unsettled(self, buf: str, start: int, end: int | None = None) -> int:
        """First position in ``buf[start:end]`` where a longer secret could still begin
        (``end`` if none)."""
        n = len(buf) if end is None else end
        pos = max(start, n - self.max_length + 1)
        while pos < n:
            tail = buf[pos:n]
            if any(len(s) > n - pos and s.startswith(tail) for s in self.secrets):
                return pos
            pos += 1
        return n


class RedactingStream:
    """Redacts a stream fed in arbitrary chunks.

    The concatenation of everything returned by :meth:`feed` and
    :meth:`finish` equals ``redactor.redact(whole_text)``. To get there it
    holds back only what more text could still change: the start of a possible
    secret (as written, or as a terminal shows it), and an escape sequence that
    has not ended yet. Bytes are decoded as UTF-8 (invalid bytes become U+FFFD),
    also when a character is split across chunks.
    """

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._held = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes | str) -> str:
        """Add a chunk; return the redacted text that is safe to emit now."""
        text = self._decoder.decode(data) if isinstance(data, bytes) else data
        red = self._redactor
        if red._pattern is None:
            return text
        buf = self._held + text
        view = _View(buf) if inert.has_hidden(buf) else None
        limit = self._settled(buf, view)
        spans = red._spans(buf, view)
        runs = view.runs if view is not None and limit < len(buf) else []
        starts = [start for start, _ in runs]
        # Emit only whole secrets and whole escape sequences: one that reaches past the
        # limit is held back from its start (and so on, until nothing crosses the limit).
        moved = True
        while moved:
            moved = False
            k = bisect.bisect_left(starts, limit) - 1
            if k >= 0 and runs[k][1] > limit:
                limit, moved = runs[k][0], True
            for start, end in spans:
                if start < limit < end:
                    limit, moved = start, True
        self._held = buf[limit:]
        return red._replace(buf, [span for span in spans if span[1] <= limit], limit)

    def _settled(self, buf: str, view: _View | None) -> int:
        """Where the text that more text could still change begins."""
        red = self._redactor
        limit = red._first_unsettled(buf, 0)
        if view is None:
            return limit
        # An escape sequence still open at the end may yet hide what it holds, so the text
        # before it is what a terminal shows for sure; a secret may continue after it.
        open_sequence = inert.open_sequence_start(buf)
        final = len(buf) if open_sequence is None else open_sequence
        shown = view.shown_before(final)
        unsettled = red._first_unsettled(view.text, 0, shown)
        if unsettled < shown:
            position = view.index_in_text(unsettled)
            if final - position <= MAX_HOLD:
                limit = min(limit, position)
        return min(limit, final)

    def finish(self) -> str:
        """Flush what was held back (and any incomplete UTF-8 sequence)."""
        tail = self._held + self._decoder.decode(b"", final=True)
        self._held = ""
        return self._redactor.redact(tail)
