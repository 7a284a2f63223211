"""Small Markdown helpers: text that reads the same in a terminal and on GitHub."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence

_BACKTICKS = re.compile(r"`+")


def cell(text: object) -> str:
    """Text safe inside a table cell: one line, pipes escaped, never empty."""
    value = str(text).replace("\r", " ").replace("\n", " ").strip()
    return value.replace("|", "\\|") if value else "—"


def code(text: str) -> str:
    """An inline code span that survives backticks inside the text."""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def command(argv: Sequence[str]) -> str:
    """An argv list as the shell line it means, in a code span."""
    return code(shlex.join(str(a) for a in argv))


def block(lines: Iterable[str]) -> str:
    """A fenced code block that no line inside it can close early."""
    body = "\n".join(lines)
    longest = max((len(m) for m in re.findall(r"^\s*(`{3,}|~{3,})", body, re.M)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{body}\n{fence}"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub table; each cell goes through :func:`cell`, so pass code spans pre-built."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def value(number: float | None, unit: str = "") -> str:
    """A number with its unit, ``—`` when there is none."""
    if number is None:
        return "—"
    return f"{number:g} {unit}".rstrip() if unit else f"{number:g}"
