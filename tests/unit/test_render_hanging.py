"""A long line on the screen wraps under its own start (a command under its ``$``, a trigger
after its mark), never back to the pane's left edge, at any width; what is shown is the same
text, in the same order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from cockpit.ui.render import Hanging, hang_indent, text_key

STEP = (
    "▶ 1. [production] Switch to v2\n"
    '   $ /bin/sh -c cat /dev/zero > "$0/filler" 2>/dev/null; echo the disk is full\n'
    "  ▸ p99 latency at or above 250 ms for three samples in a row"
)


def lines_at(renderable: Hanging, width: int) -> list[str]:
    console = Console(width=width, color_system=None, legacy_windows=False)
    rendered = console.render_lines(renderable, console.options.update_width(width), pad=False)
    return ["".join(segment.text for segment in line).rstrip() for line in rendered]


def test_a_command_wraps_under_the_text_after_its_dollar() -> None:
    lines = lines_at(Hanging(Text(STEP)), 40)
    command = lines[1 : lines.index(next(x for x in lines if "▸" in x))]
    assert command[0].startswith("   $ /bin/sh -c cat")
    assert len(command) > 1
    for more in command[1:]:
        assert more.startswith("     ") and not more.startswith("      ")  # under "/bin"
    trigger = lines[len(command) + 1 :]
    assert trigger[0].startswith("  ▸ p99") and all(t.startswith("    ") for t in trigger[1:])


def test_a_line_that_fits_is_left_alone() -> None:
    assert lines_at(Hanging(Text(STEP)), 200) == STEP.split("\n")


def test_the_indent_counts_spaces_and_a_mark_with_its_space() -> None:
    assert hang_indent("   $ ls") == 5
    assert hang_indent("· 1. step") == 2
    assert hang_indent("  plain") == 2
    assert hang_indent("$HOME") == 0  # a mark only with a space after it


def test_its_key_is_its_texts_so_an_unchanged_one_is_not_redrawn() -> None:
    assert text_key(Hanging(Text(STEP))) == text_key(Hanging(Text(STEP)))
    assert text_key(Hanging(Text(STEP))) != text_key(Hanging(Text(STEP + "!")))


@given(
    st.lists(
        st.tuples(
            st.integers(0, 8), st.sampled_from(["", "$ ", "▸ ", "x"]), st.text("ab c", max_size=90)
        ),
        min_size=1,
        max_size=5,
    ),
    st.integers(20, 120),
)
def test_nothing_is_lost_or_reordered_and_no_line_is_too_wide(
    parts: list[tuple[int, str, str]], width: int
) -> None:
    source = "\n".join(" " * n + mark + body for n, mark, body in parts)
    lines = lines_at(Hanging(Text(source)), width)
    assert all(len(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == source.replace("\n", "").replace(" ", "")
