"""Redactor and RedactingStream: streaming equals whole-text redaction and hides every secret."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cockpit.runner import REDACTED, Redactor

# Secrets use letters that "[REDACTED]" does not contain and no brackets, so
# no secret can re-form around a marker (see Redactor's docstring).
SECRET_ALPHABET = "abcxyz01é\n"
TEXT_ALPHABET = SECRET_ALPHABET + " -[]RD"

secret_values = st.text(alphabet=SECRET_ALPHABET, min_size=4, max_size=9)


def feed_in_pieces(redactor: Redactor, data: str | bytes, cuts: list[int]) -> str:
    stream = redactor.stream()
    out: list[str] = []
    start = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        out.append(stream.feed(data[start:cut]))
        start = cut
    out.append(stream.finish())
    return "".join(out)


def test_byte_by_byte() -> None:
    redactor = Redactor(["hunter2-token"])
    stream = redactor.stream()
    out = "".join(stream.feed(bytes([b])) for b in b"pw=hunter2-token!\n") + stream.finish()
    assert out == f"pw={REDACTED}!\n"


def test_longest_secret_wins_and_short_values_are_ignored() -> None:
    redactor = Redactor(["abcd", "abcdefgh", "abc", ""])
    assert redactor.redact("xabcdefghx abcdx abc") == f"x{REDACTED}x {REDACTED}x abc"
    assert redactor.secrets == ("abcdefgh", "abcd")


def test_stream_holds_back_only_a_possible_secret_start() -> None:
    stream = Redactor(["secret-value"]).stream()
    assert stream.feed("plain line\n") == "plain line\n"
    assert stream.feed("tail secr") == "tail "
    assert stream.feed("et-value done") == f"{REDACTED} done"
    assert stream.finish() == ""


def test_no_secrets_is_identity() -> None:
    redactor = Redactor([])
    assert not redactor
    assert redactor.redact("anything") == "anything"
    stream = redactor.stream()
    assert stream.feed(b"caf\xc3") + stream.feed(b"\xa9") + stream.finish() == "café"


def test_a_secret_that_is_the_prefix_of_another_is_held_across_chunks() -> None:
    # "abcd" ends the first chunk, but it may be the start of "abcdefgh": redacting it at
    # once would leave "efgh" of the longer secret on the screen.
    redactor = Redactor(["abcd", "abcdefgh"])
    text = "xabcdefghx abcdx"
    for cut in range(len(text) + 1):
        assert feed_in_pieces(redactor, text, [cut]) == f"x{REDACTED}x {REDACTED}x", cut
    stream = redactor.stream()
    assert stream.feed("xabcd") == "x"
    assert stream.feed("efghx") == f"{REDACTED}x"


def test_a_whole_secret_at_the_end_of_a_chunk_is_emitted_at_once() -> None:
    stream = Redactor(["secret-value"]).stream()
    assert stream.feed("pw=secret-value") == f"pw={REDACTED}"
    assert stream.finish() == ""
    # Also a shorter one, when no longer secret can start with it.
    stream = Redactor(["abcd", "wxyz1234"]).stream()
    assert stream.feed("pw=abcd") == f"pw={REDACTED}"


def test_the_longest_secret_sets_how_much_is_held_back() -> None:
    # Held back: only what could still begin the longest secret ("abcdefg" of "abcdefgh").
    stream = Redactor(["abcdefgh", "wxyz"]).stream()
    assert stream.feed("0123456789abcdefg") == "0123456789"
    assert stream.feed("h") == REDACTED


def test_finish_flushes_an_incomplete_character_and_leaves_nothing_held() -> None:
    stream = Redactor(["hunter2-token"]).stream()
    assert stream.feed(b"caf\xc3") == "caf"
    assert stream.finish() == "\ufffd"
    assert stream.finish() == ""
    stream = Redactor(["hunter2-token"]).stream()
    assert stream.feed("pw=hunt") == "pw="
    assert stream.finish() == "hunt"
    assert stream.feed("er") + stream.finish() == "er"  # "hunt" is not held a second time


# The property tests come last: they take most of the time, and `make mutation` stops a run
# at the first failure.


@settings(max_examples=400, deadline=None)
@given(
    secrets=st.lists(secret_values, min_size=1, max_size=4),
    pieces=st.lists(st.text(alphabet=TEXT_ALPHABET, max_size=12), max_size=8),
    embed=st.lists(st.integers(min_value=0, max_value=3), max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=200), max_size=20),
)
def test_streaming_equals_whole_and_hides_secrets(
    secrets: list[str], pieces: list[str], embed: list[int], cuts: list[int]
) -> None:
    # Interleave free text with secrets so they actually occur, also overlapping.
    parts: list[str] = []
    for i, piece in enumerate(pieces):
        parts.append(piece)
        if i < len(embed):
            parts.append(secrets[embed[i] % len(secrets)])
    text = "".join(parts)
    redactor = Redactor(secrets)
    whole = redactor.redact(text)
    assert feed_in_pieces(redactor, text, cuts) == whole
    for secret in secrets:
        assert secret not in whole


@settings(max_examples=200, deadline=None)
@given(
    secrets=st.lists(secret_values, min_size=1, max_size=3),
    text=st.text(alphabet=TEXT_ALPHABET, max_size=60),
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=30),
)
def test_bytes_split_inside_characters(secrets: list[str], text: str, cuts: list[int]) -> None:
    redactor = Redactor(secrets)
    data = (secrets[0] + text + secrets[-1]).encode()
    assert feed_in_pieces(redactor, data, cuts) == redactor.redact(data.decode())
