"""Secrets are found as a terminal would show them: through escape sequences and invisible
characters, whole or streamed in any chunks, in the supervisor's output files too."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cockpit.inert import visible
from cockpit.runner import REDACTED, ProcessSpec, Redactor, start_process

SECRET = "s3cr3t-TOKEN-value"

# What can interrupt a secret without a terminal showing anything in between.
INTERRUPTIONS = [
    pytest.param("\x1b[0m", id="sgr-reset"),
    pytest.param("\x1b[31;1m", id="sgr-colour"),
    pytest.param("\u200b", id="zero-width-space"),
    pytest.param("\u202e", id="bidi-override"),
    pytest.param("\x00", id="nul"),
    pytest.param("\x9b0m", id="c1-csi"),
    pytest.param("\x1b]2;title\x07", id="osc2-title"),
    pytest.param("\x1b]8;;https://x\x1b\\", id="osc8-link"),
    pytest.param("\x1b[0m\u200b\x1b[1m", id="several"),
]


def stream_in(redactor: Redactor, data: str | bytes, cuts: list[int]) -> str:
    stream = redactor.stream()
    out: list[str] = []
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        out.append(stream.feed(data[start:cut]))
        start = cut
    out.append(stream.finish())
    return "".join(out)


@pytest.mark.parametrize("between", INTERRUPTIONS)
def test_a_secret_interrupted_by_something_invisible_is_redacted(between: str) -> None:
    redactor = Redactor([SECRET])
    text = f"token: {SECRET[:5]}{between}{SECRET[5:]} ok"
    assert redactor.redact(text) == f"token: {REDACTED} ok"
    for cut in range(len(text) + 1):
        assert stream_in(redactor, text, [cut]) == f"token: {REDACTED} ok", cut
    data = text.encode()
    for cut in range(len(data) + 1):
        assert stream_in(redactor, data, [cut]) == f"token: {REDACTED} ok", cut


def test_escapes_around_a_secret_are_kept_and_a_secret_inside_one_is_found() -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact(f"\x1b[31m{SECRET}\x1b[0m") == f"\x1b[31m{REDACTED}\x1b[0m"
    link = f"\x1b]8;;https://h/?t={SECRET}\x1b\\here\x1b]8;;\x1b\\"
    assert SECRET not in redactor.redact(link)
    assert "here" in redactor.redact(link)


def test_prefix_secrets_split_across_two_chunks_leave_nothing_of_the_longer() -> None:
    redactor = Redactor(["abcd", "abcdefgh"])
    text = "x abcdefgh y abcd z abcd\x1b[0mefgh w ab\u200bcdefgh v"
    want = f"x {REDACTED} y {REDACTED} z {REDACTED} w {REDACTED} v"
    assert redactor.redact(text) == want
    for cut in range(len(text) + 1):
        out = stream_in(redactor, text, [cut])
        assert out == want, cut
        assert "efgh" not in out


def test_a_secret_is_found_as_json_and_repr_write_it() -> None:
    secret = "p\\ss\"w'rd-é\t9"
    redactor = Redactor([secret])
    for text in (json.dumps({"e": secret}), json.dumps([secret], ensure_ascii=False)):
        assert secret not in json.loads(redactor.redact(text))
        assert REDACTED in redactor.redact(text)
    assert redactor.redact(f"got {secret!r}") == f"got '{REDACTED}'"


def test_shown_redacts_before_it_makes_the_text_inert() -> None:
    redactor = Redactor([SECRET])
    text = f"\x1b]2;x\x07{SECRET[:3]}\u200b{SECRET[3:]}\nnext"
    assert redactor.shown(text) == f"^[]2;x^G{REDACTED}^Jnext"
    assert redactor.shown(text, multiline=True) == f"^[]2;x^G{REDACTED}\nnext"


def test_redact_start_never_shows_part_of_a_secret_cut_by_the_limit() -> None:
    redactor = Redactor([SECRET])
    text = "x" * 10 + SECRET + "y" * 100
    for limit in range(10, 10 + len(SECRET)):
        start = redactor.redact_start(text, limit)
        assert start == "x" * 10, limit
    assert redactor.redact_start(text, 10 + len(SECRET)) == "x" * 10 + REDACTED
    assert Redactor([]).redact_start(text, 12) == "x" * 10 + SECRET[:2]


SECRET_ALPHABET = "abcxyz01é"
NOISE = [
    "\x1b[0m",
    "\x1b[31;1m",
    "\u200b",
    "\u202e",
    "\x9b1m",
    "\x1b]0;t\x07",
    "\x1b]8;;u\x1b\\",
    "\x1b",
    "\x00",
    "\x1b[",
    "\x9d",
    "\x1b]",
    "\x07",
    "\x1b(B",
    "\r",
    "\u2028",
    "[",
    "]",
    ";",
    "1",
    "m",
]
secret_values = st.text(alphabet=SECRET_ALPHABET, min_size=4, max_size=9)
interrupted = st.tuples(
    st.integers(0, 2), st.integers(1, 8), st.lists(st.sampled_from(NOISE), min_size=1, max_size=3)
)
part = st.one_of(
    st.sampled_from(NOISE),
    st.text(alphabet=SECRET_ALPHABET + " \n", max_size=5),
    st.integers(0, 2),
    interrupted,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secrets=st.lists(secret_values, min_size=1, max_size=3),
    parts=st.lists(part, max_size=20),
    cuts=st.lists(st.integers(0, 300), max_size=30),
)
def test_streaming_equals_whole_and_no_secret_shows(
    secrets: list[str], parts: list[str | int | tuple[int, int, list[str]]], cuts: list[int]
) -> None:
    pieces = []
    for p in parts:
        if isinstance(p, int):
            pieces.append(secrets[p % len(secrets)])
        elif isinstance(p, tuple):
            secret = secrets[p[0] % len(secrets)]
            at = p[1] % (len(secret) - 1) + 1
            pieces.append(secret[:at] + "".join(p[2]) + secret[at:])
        else:
            pieces.append(p)
    text = "".join(pieces)
    redactor = Redactor(secrets)
    whole = redactor.redact(text)
    assert stream_in(redactor, text, cuts) == whole
    for secret in secrets:
        assert secret not in whole
        assert secret not in visible(whole)


CHILD = """
import sys, time
secret = sys.argv[1]
for between in ("\\x1b[0m", "\\u200b"):
    for ch in f"split {secret[:6]}{between}{secret[6:]} done\\n":
        sys.stdout.write(ch)
        sys.stdout.flush()
"""


async def test_the_supervisor_redacts_secrets_interrupted_in_output_files(tmp_path: Path) -> None:
    # The secret reaches the child through its environment, never argv: argv is checked.
    spec = ProcessSpec(
        (sys.executable, "-c", f"import os, sys; sys.argv[1:] = [os.environ['S']]\n{CHILD}"),
        tmp_path / "step.out",
        env={"S": SECRET},
        secrets=(SECRET,),
    )
    handle = await start_process(spec)
    result = await handle.wait()
    assert result.ok, result
    text = spec.output_path.read_text()
    assert text == f"split {REDACTED} done\n" * 2
    assert SECRET not in visible(text)
