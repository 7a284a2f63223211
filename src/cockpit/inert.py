"""Outside text made inert: shown on a terminal, never obeyed by it.

Step output, probe answers, error texts and profile strings may hold terminal controls: an
OSC 2 sequence retitles the window, OSC 52 writes the clipboard, ``ESC[2J`` blanks the
screen, ``ESC[6n`` makes the terminal type an answer into our input, U+202E reverses the
text after it. :func:`inert` turns every such character into visible text (``^[`` for ESC,
``\\x9b`` for a C1 control, ``\\u202e`` for a bidi or zero-width character), so the rest of
an escape sequence is plain text too. It is applied where outside text enters the display:
the screen, the CLI's output and the evidence files. The journal keeps what was read.

The module also describes escape sequences and invisible characters for the redactor, which
matches secrets on text as a terminal would show it (``runner/redact.py``).

Standard library only and no package-relative imports: the detached supervisor loads the
redactor by path, and the redactor loads this file the same way.
"""

from __future__ import annotations

import functools
import json
import re

TAB_SIZE = 8
"""Tabs become spaces up to the next multiple of this column."""

_C0_AND_C1 = "\x00-\x08\x0b-\x1f\x7f-\x9f"  # every control but tab and newline
# Unicode format characters (Cf: zero-width, bidi embeddings, overrides and isolates, the
# BOM, soft hyphen, tags, ...) as of Unicode 15.1; a test checks that this covers every Cf
# character of the running Python's Unicode database.
_FORMAT = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
# Line and paragraph separators break a line where nothing shows it; lone surrogates come
# from undecodable bytes and cannot even be encoded for the terminal.
_SEPARATORS_AND_SURROGATES = "\u2028\u2029\ud800-\udfff"

UNSAFE_CHARACTERS = _C0_AND_C1 + _FORMAT + _SEPARATORS_AND_SURROGATES
"""A regular-expression class body: the characters :func:`inert` never lets through."""

# Patterns are compiled on first use (see _compiled): plain ASCII text never needs them, and
# compiling them all costs about 10 ms of every start.
_UNSAFE_ONE_LINE = f"[{UNSAFE_CHARACTERS}\t\n]"
_UNSAFE_IN_TEXT = f"[{UNSAFE_CHARACTERS}]"
_UNSAFE_MULTILINE = f"[{UNSAFE_CHARACTERS}\t]"

_LONGEST = 256
"""Longest escape sequence recognised as one (parameters, or the text of an OSC string);
a longer one is shown from its ESC on and never waited for."""
LONGEST_OPEN_SEQUENCE = 2 * _LONGEST + 2
"""The most characters an escape sequence that has not ended yet can span."""
_STRING_START = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])"  # OSC, DCS, SOS, PM, APC
_CSI_START = r"(?:\x1b\[|\x9b)"
_PARAMETERS = rf"[\x30-\x3f]{{0,{_LONGEST}}}[\x20-\x2f]{{0,{_LONGEST}}}"
_STRING = rf"[^\x07\x1b\x9c]{{0,{_LONGEST}}}(?:\x07|\x1b\\|\x9c)"
# Factored on the ESC (a CSI, a string, any other sequence, or ESC alone), which scans
# about three times faster than the same alternatives written out whole.
_AFTER_ESC = (
    rf"\x1b(?:\[{_PARAMETERS}[\x40-\x7e]|[\]PX^_]{_STRING}|[\x20-\x2f]{{0,{_LONGEST}}}[\x30-\x7e])?"
)
_C1_SEQUENCE = rf"\x9b{_PARAMETERS}[\x40-\x7e]|[\x90\x98\x9d\x9e\x9f]{_STRING}"
_ALONE = "\x00-\x08\x0b-\x1a\x1c-\x1f"  # with ESC and tab and newline taken out

# What a terminal would not show as characters (a "hidden run"): a whole escape sequence
# (CSI, OSC, DCS, SOS, PM, APC, or any other), or one control, format (zero-width, bidi),
# separator or surrogate character. Tab and newline are visible layout and not part of it.
_HIDDEN = f"{_AFTER_ESC}|{_C1_SEQUENCE}|[{_ALONE}\x7f-\x9f{_FORMAT}{_SEPARATORS_AND_SURROGATES}]"
# The same for ASCII text, which is most output: a small first-character set scans several
# times faster than one with the ranges beyond the BMP.
_HIDDEN_ASCII = f"{_AFTER_ESC}|[{_ALONE}\x7f]"

# Printable ASCII, with newline and tab where a text may hold them: an ASCII text without
# any other byte needs no work at all, and bytes.translate finds that at memory speed
# (Python's regular expressions scan about 20 times slower).
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_PLAIN_ONE_LINE = _PRINTABLE_ASCII
_PLAIN_MULTILINE = _PRINTABLE_ASCII + b"\n"
_PLAIN_LAYOUT = _PRINTABLE_ASCII + b"\n\t"

_OPEN_SEQUENCE_AT_END = (
    rf"(?:{_CSI_START}[\x30-\x3f]{{0,{_LONGEST}}}[\x20-\x2f]{{0,{_LONGEST}}}"
    rf"|{_STRING_START}[^\x07\x1b\x9c]{{0,{_LONGEST}}}\x1b?"
    rf"|\x1b[\x20-\x2f]{{0,{_LONGEST}}})\Z"
)


@functools.cache
def _compiled(source: str) -> re.Pattern[str]:
    return re.compile(source)


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)  # ^[ for ESC, ^M for CR, ^@ for NUL
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _plain_ascii(text: str, allowed: bytes) -> bool:
    return text.isascii() and not text.encode("ascii").translate(None, allowed)


def has_hidden(text: str) -> bool:
    """Whether ``text`` holds a hidden run: an escape sequence, or a control, format (bidi,
    zero-width), separator or surrogate character (tab and newline are not). Cheap for plain
    text."""
    if _plain_ascii(text, _PLAIN_LAYOUT):
        return False
    return _compiled(_UNSAFE_IN_TEXT).search(text) is not None


def hidden_pattern(text: str) -> re.Pattern[str]:
    """The pattern of the hidden runs (see :func:`has_hidden`), fit for ``text``: every
    escape sequence is one run, as a terminal reads it; a faster one for ASCII text."""
    return _compiled(_HIDDEN_ASCII if text.isascii() else _HIDDEN)


def visible(text: str) -> str:
    """``text`` as a terminal would show it: the hidden runs taken out."""
    return hidden_pattern(text).sub("", text) if has_hidden(text) else text


def open_sequence_start(text: str) -> int | None:
    """Where an escape sequence that is still open at the end of ``text`` begins: what comes
    next decides whether (and where) it is a hidden run. ``None`` when there is none."""
    window = max(0, len(text) - LONGEST_OPEN_SEQUENCE)
    found = _compiled(_OPEN_SEQUENCE_AT_END).search(text, window)
    return None if found is None else found.start()


def inert(text: str, *, multiline: bool = False) -> str:
    """``text`` as plain characters that a terminal can only print.

    Controls show as ``^X`` (``^[`` for ESC, ``^?`` for DEL), C1 controls as ``\\x9b``,
    format characters (zero-width, bidi), line separators and lone surrogates as
    ``\\u202e``; what follows an ESC is then ordinary text. Tabs become spaces (to the next
    multiple of :data:`TAB_SIZE` columns). A newline is kept only with ``multiline``;
    otherwise it shows as ``^J``. Printable text comes back unchanged, and so does text that
    is already inert.
    """
    if is_inert(text, multiline=multiline):
        return text
    unsafe = _compiled(_UNSAFE_MULTILINE if multiline else _UNSAFE_ONE_LINE)
    shown = unsafe.sub(lambda m: m.group() if m.group() == "\t" else _shown(m), text)
    return shown.expandtabs(TAB_SIZE) if "\t" in shown else shown


def is_inert(text: str, *, multiline: bool = False) -> bool:
    """Whether :func:`inert` would leave ``text`` as it is."""
    if _plain_ascii(text, _PLAIN_MULTILINE if multiline else _PLAIN_ONE_LINE):
        return True
    unsafe = _compiled(_UNSAFE_MULTILINE if multiline else _UNSAFE_ONE_LINE)
    return unsafe.search(text) is None


def _json_escape(match: re.Match[str]) -> str:
    units = match.group().encode("utf-16-be", "surrogatepass")
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


def json_text(value: object, *, indent: int | None = None) -> str:
    """``value`` as JSON that a terminal can only print, the data unchanged.

    ``json.dumps`` escapes C0 controls inside strings but lets DEL, C1 controls, bidi and
    zero-width characters and lone surrogates through; here each of them is written as a
    JSON ``\\u`` escape too (a surrogate pair beyond the BMP), so a reader of the JSON gets
    exactly the value, and a terminal shows only text. Other non-ASCII stays readable.
    """
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _compiled(_UNSAFE_IN_TEXT).sub(_json_escape, text)
