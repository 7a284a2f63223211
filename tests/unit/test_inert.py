"""The one sanitiser for outside text: nothing a terminal would obey gets through."""

from __future__ import annotations

import json
import re
import sys
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cockpit.inert import has_hidden, inert, is_inert, json_text

# Terminal commands and text tricks, each with the inert form that must be visible instead.
HOSTILE = [
    pytest.param("\x1b[2J\x1b[H", "^[[2J^[[H", id="clear-screen"),
    pytest.param("\x1b]2;pwned\x07", "^[]2;pwned^G", id="osc2-title"),
    pytest.param("\x1b]52;c;cm0gLXJmIH4=\x07", "^[]52;c;cm0gLXJmIH4=^G", id="osc52-clipboard"),
    pytest.param("\x1b[6n", "^[[6n", id="dsr-cursor-report"),
    pytest.param("\x9b2J", "\\x9b2J", id="c1-csi"),
    pytest.param("\x9d0;t\x9c", "\\x9d0;t\\x9c", id="c1-osc"),
    pytest.param("safe\u202eexe.txt", "safe\\u202eexe.txt", id="bidi-override"),
    pytest.param("to\u200bken", "to\\u200bken", id="zero-width-space"),
    pytest.param("a\u2066b\u2069", "a\\u2066b\\u2069", id="bidi-isolate"),
    pytest.param("x\ufeffy", "x\\ufeffy", id="bom"),
    pytest.param("a\u2028b", "a\\u2028b", id="line-separator"),
    pytest.param("ok\rFAIL", "ok^MFAIL", id="carriage-return"),
    pytest.param("a\x00b\x7fc\x08d", "a^@b^?c^Hd", id="nul-del-backspace"),
    pytest.param("tag\U000e0041", "tag\\U000e0041", id="unicode-tag"),
    pytest.param("bad\udcff", "bad\\udcff", id="lone-surrogate"),
]


@pytest.mark.parametrize(("hostile", "shown"), HOSTILE)
def test_hostile_text_is_shown_inert(hostile: str, shown: str) -> None:
    assert inert(hostile) == shown
    assert inert(hostile, multiline=True) == shown


def test_newline_is_kept_only_for_multiline_text_and_tabs_become_spaces() -> None:
    assert inert("one\ntwo") == "one^Jtwo"
    assert inert("one\ntwo", multiline=True) == "one\ntwo"
    assert inert("a\tb\n\tc", multiline=True) == "a       b\n        c"
    assert inert("ab\tc") == "ab      c"


def test_ordinary_text_is_returned_as_it_is() -> None:
    text = "deploy café v2 → 100% ✔ 日本語 [REDACTED] ^[ \\u202e"
    assert inert(text) is text


UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def test_every_control_format_separator_and_surrogate_of_this_python_is_covered() -> None:
    # The class is written out (computing it at import would cost start-up time); this
    # proves it against the Unicode database of the running Python.
    missed = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if chr(code) not in "\t\n"
        and unicodedata.category(chr(code)) in UNSAFE_CATEGORIES
        and is_inert(chr(code), multiline=True)
    ]
    assert missed == []


def _forbidden(char: str, *, multiline: bool) -> bool:
    if char == "\n":
        return not multiline
    return char == "\t" or unicodedata.category(char) in UNSAFE_CATEGORIES


hostile_alphabet = st.sampled_from(
    ["\x1b", "\x9b", "\x9d", "\x07", "\x9c", "\u202e", "\u200b", "\n", "\t", "\r", "[", "]"]
)
any_text = st.text(
    alphabet=st.one_of(st.characters(codec=None), hostile_alphabet), max_size=80
) | st.lists(hostile_alphabet | st.characters(), max_size=40).map("".join)


@settings(max_examples=500, deadline=None)
@given(text=any_text, multiline=st.booleans())
def test_output_holds_no_control_bidi_or_invisible_character(text: str, multiline: bool) -> None:
    shown = inert(text, multiline=multiline)
    assert not [c for c in shown if _forbidden(c, multiline=multiline)]
    assert not has_hidden(shown)
    assert is_inert(shown, multiline=multiline)


@settings(max_examples=500, deadline=None)
@given(text=any_text, multiline=st.booleans())
def test_inert_is_idempotent(text: str, multiline: bool) -> None:
    once = inert(text, multiline=multiline)
    assert inert(once, multiline=multiline) == once


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet=st.characters(), max_size=80), multiline=st.booleans())
def test_printable_text_is_unchanged(text: str, multiline: bool) -> None:
    printable = "".join(c for c in text if c.isprintable() or (multiline and c == "\n"))
    assert inert(printable, multiline=multiline) == printable


def test_every_inert_form_is_visible_text() -> None:
    for code in (0x1B, 0x00, 0x7F, 0x9B, 0x202E, 0x200B, 0xE0041, 0xDCFF):
        shown = inert(chr(code))
        assert shown.isprintable()
        assert len(shown) >= 2


@settings(max_examples=300, deadline=None)
@given(text=any_text | st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cf"])))
def test_json_text_keeps_the_data_and_holds_nothing_a_terminal_obeys(text: str) -> None:
    # A high then a low surrogate read back as one character, in any JSON.
    assume(re.search("[\ud800-\udbff][\udc00-\udfff]", text) is None)
    value = {"k": text, "list": [text, 1]}
    shown = json_text(value, indent=2)
    assert json.loads(shown) == value
    assert is_inert(shown, multiline=True)
