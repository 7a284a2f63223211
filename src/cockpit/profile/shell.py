"""``${var:}`` references in shell text: each value arrives as one literal word.

A step, rollback or command source with ``shell = true`` is parsed by ``/bin/sh`` after its
references are substituted, so a value could end the command (``; rm``), start another
(``$(...)``, backticks, a newline), pipe, or split into several words and globs. Each value
is therefore quoted with :func:`shlex.quote` when it is substituted (``cockpit.profile.resolve``).

Quoting makes one word only where the reference stands bare in the text. Inside ``"..."`` or
``'...'``, in backticks, after a backslash or a ``$``, in a comment or after a here-document
(``<<``) the quotes would be read as plain characters and the value as shell; such places
are refused when the profile loads (:func:`misplaced_references`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from cockpit.profile.models import REFERENCE, CommandSource, Profile

QUOTED_NOTE = "each ${var:} value quoted as one word"
"""What the screen says beside a shell command whose references were quoted."""

_COMMENT_STARTS = frozenset(" \t\n;&|()<>")
"""Characters after which ``#`` starts a comment in sh."""


def quote(value: str) -> str:
    """``value`` as one literal word of sh."""
    return shlex.quote(value)


def has_references(command: list[str]) -> bool:
    """Whether a command holds a reference (in shell text: whose value will be quoted)."""
    return any(REFERENCE.search(part) for part in command)


def misplaced_reference(text: str) -> str | None:
    """Why a reference in this shell text could not be one quoted word, or ``None``.

    A small reading of sh's quoting: single and double quotes, backslashes, backticks,
    comments and here-documents. It errs on the side of refusing.
    """
    quoting: str | None = None  # the open quote: ', " or `
    comment = heredoc = False
    index = 0
    while index < len(text):
        char = text[index]
        reference = REFERENCE.match(text, index)
        if reference is not None:
            escaped = index > 0 and text[index - 1] == "\\" and quoting != "'"
            place = _place(text, index, quoting, comment=comment, heredoc=heredoc, escaped=escaped)
            if place is not None:
                where, fix = place
                return (
                    f"{reference.group(0)} is {where}: its value would be read as shell, "
                    f"not as one word; {fix} (the value itself is quoted for you)"
                )
            index = reference.end()
            continue
        if comment:
            comment = char != "\n"
        elif quoting == "'":
            quoting = None if char == "'" else quoting
        elif char == "\\":
            # The next character is escaped; a reference there is judged as escaped above.
            index += 1 if REFERENCE.match(text, index + 1) else 2
            continue
        elif quoting is not None:
            quoting = None if char == quoting else quoting
        elif char in "'\"`":
            quoting = char
        elif char == "#" and (index == 0 or text[index - 1] in _COMMENT_STARTS):
            comment = True
        elif text.startswith("<<", index):
            heredoc = True
        index += 1
    return None


def _place(
    text: str, index: int, quoting: str | None, *, comment: bool, heredoc: bool, escaped: bool
) -> tuple[str, str] | None:
    """Where a reference stands and how to move it, if quoting cannot protect it there."""
    if comment:
        return "in a comment (a newline in the value would end it)", "take it out of the comment"
    if quoting is not None:
        where = {"'": "inside '...'", '"': 'inside "..."', "`": "inside backticks"}[quoting]
        return where, "write it outside the quotes"
    if escaped:
        return "right after a backslash", "remove the backslash"
    if heredoc:
        return "after a here-document (<<)", "pass it as an argument instead"
    if index > 0 and text[index - 1] == "$":
        return "right after a $", "remove the $"
    return None


def shell_texts(profile: Profile) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string that ``/bin/sh -c`` will read, with its place in the profile."""
    sources = [("checks", i, c.source) for i, c in enumerate(profile.checks)]
    sources += [("metrics", i, m.source) for i, m in enumerate(profile.metrics)]
    for label, i, source in sources:
        if isinstance(source, CommandSource) and source.shell:
            for k, part in enumerate(source.command):
                yield (label, i, "source", "command", k), part
    for s, stage in enumerate(profile.stages):
        for j, step in enumerate(stage.steps):
            if step.shell:
                for k, part in enumerate(step.command):
                    yield ("stages", s, "steps", j, "command", k), part
    if profile.rollback.shell:
        for c, argv in enumerate(profile.rollback.commands):
            for k, part in enumerate(argv):
                yield ("rollback", "commands", c, k), part


def misplaced_references(profile: Profile) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Each shell text's place and the reason it holds a reference that cannot be quoted."""
    for place, text in shell_texts(profile):
        problem = misplaced_reference(text)
        if problem is not None:
            yield place, problem
