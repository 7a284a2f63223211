"""Load a profile file and explain every way it can be wrong: file, line, key path and fix."""

from __future__ import annotations

import errno
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cockpit.files import FileRefused, read_regular_file
from cockpit.inert import inert
from cockpit.profile.models import Profile
from cockpit.profile.shell import misplaced_references


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a profile, located as precisely as we can."""

    path: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        """One line for a person: the path, the key and the message may quote the file, so
        the line is inert (see :func:`cockpit.inert.inert`)."""
        place = f"{self.path}:{self.line}" if self.line else self.path
        where = f" {self.where}:" if self.where else ""
        return inert(f"{place}:{where} {self.message}")


class ProfileError(Exception):
    """A profile that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


PROFILE_SIZE_LIMIT = 4 << 20
"""The largest profile read: 4 MiB. The examples are 2-8 KiB and one at the limits on metrics,
checks and steps about 40 KiB; a bigger file (10,000 metrics is 2.5 MB) still gets the message
about those limits, and no FIFO or device is read at all."""
MAX_KEY_PARTS = 32
"""Most parts a dotted key may have (``a.b.c`` has 3); the deepest key a profile needs has 5."""
MAX_NESTING = 32
"""Deepest nesting of arrays and inline tables; a profile needs 3."""

# What the shape check sees of TOML: strings and comments (skipped whole), brackets, the
# separators that end a key, and dots. Multi-line strings first: they start like short ones.
_SHAPE_TOKENS = re.compile(
    "|".join(
        (
            r'"""(?:[^\\]|\\.)*?"{3,5}',  # a multi-line basic string may end in 1-2 quotes
            r"'''.*?'{3,5}",
            r'"(?:[^"\\\n]|\\.)*"',
            r"'[^'\n]*'",
            r"#[^\n]*",
            r"[][{}=,\n.]",
        )
    ),
    re.S,
)


def _check_shape(text: str, path: str) -> None:
    """Refuse, in one linear pass, what would make the TOML parser slow or overflow its stack.

    Python's ``tomllib`` spends time quadratic in the number of parts of a dotted key (a 100
    KB key ``a.a.a…`` took 37 s) and recurses once per level of nesting (deep nesting ended
    in a RecursionError). No profile comes near either limit.
    """
    depth = 0
    parts = 1
    for token in _SHAPE_TOKENS.finditer(text):
        char = token.group()
        too_much = None
        if char == ".":
            parts += 1
            if parts > MAX_KEY_PARTS:
                too_much = (
                    f"a dotted key with more than {MAX_KEY_PARTS} parts; no profile key has more"
                    " than 5. Write the key as the schema shows it"
                )
        elif len(char) == 1 and char in "[{":
            depth += 1
            parts = 1
            if depth > MAX_NESTING:
                too_much = (
                    f"arrays or tables nested more than {MAX_NESTING} levels deep; a profile"
                    " needs 3. Flatten it"
                )
        elif len(char) == 1 and char in "]}":
            depth = max(0, depth - 1)
            parts = 1
        elif char in ("=", ",", "\n"):
            parts = 1
        if too_much is not None:
            line = text.count("\n", 0, token.start()) + 1
            raise ProfileError([Problem(path, line, "", too_much)])


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_key(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p.strip("\"'") for p in parts]


def key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Map key paths (with array indices) to the line that defines them.

    A light scan, good enough to point at the line of a schema error: it follows table
    headers, arrays of tables and dotted keys; values spanning lines are not entered.
    """
    lines: dict[tuple[str | int, ...], int] = {}
    counters: dict[tuple[str | int, ...], int] = {}
    table: tuple[str | int, ...] = ()
    in_multiline: str | None = None
    depth = 0  # open brackets of a value that spans lines
    # TOML lines end at \n only; str.splitlines() would also break at U+2028 inside strings.
    for number, raw in enumerate(text.split("\n"), start=1):
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if depth > 0:
            depth += _bracket_balance(raw)
            continue
        header = _HEADER.match(raw)
        if header and not _KEY.match(raw):
            names = _split_key(header.group(2))
            resolved: list[str | int] = []
            for i, name in enumerate(names):
                resolved.append(name)
                prefix = tuple(resolved)
                last = i == len(names) - 1
                if last and header.group(1) == "[[":
                    counters[prefix] = counters.get(prefix, -1) + 1
                    resolved.append(counters[prefix])
                elif prefix in counters:
                    resolved.append(counters[prefix])
            table = tuple(resolved)
            lines.setdefault(table, number)
            if header.group(1) == "[[":
                lines.setdefault(table[:-1], number)
            continue
        key = _KEY.match(raw)
        if key:
            path = table + tuple(_split_key(key.group(1)))
            lines.setdefault(path, number)
            rest = raw[key.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
            depth = max(0, _bracket_balance(rest))
    return lines


def _bracket_balance(text: str) -> int:
    """Open minus closed brackets outside strings and comments."""
    balance = 0
    quote: str | None = None
    for char in text:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char == "[":
            balance += 1
        elif char == "]":
            balance -= 1
    return balance


def line_of(lines: dict[tuple[str | int, ...], int], loc: tuple[str | int, ...]) -> int | None:
    """The line of the longest prefix of ``loc`` that the scan found."""
    for end in range(len(loc), 0, -1):
        found = lines.get(tuple(loc[:end]))
        if found:
            return found
    return None


def _format_loc(loc: tuple[str | int, ...], data: Any = None) -> str:
    """A location as the profile's author knows it: ``metrics['p99'].threshold``, naming a
    list item by its id (or name) where it has one, by its position otherwise."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            name = (item.get("id") or item.get("name")) if isinstance(item, dict) else None
            out += f"[{name!r}]" if isinstance(name, str) and name else f"[{part}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _clean_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # pydantic adds the union tag to the location ("source", "http", "url"); drop it so the
    # path matches the file, and drop function-validator names.
    cleaned: list[str | int] = []
    for i, part in enumerate(loc):
        previous = loc[i - 1] if i else None
        if previous == "source" and isinstance(part, str) and part in _SOURCE_KINDS:
            continue
        if isinstance(part, str) and part.startswith("function-"):
            continue
        cleaned.append(part)
    return tuple(cleaned)


_SOURCE_KINDS = {
    "system",
    "http",
    "prometheus",
    "command",
    "file_age",
    "artifact",
    "env_catalog",
    "tcp",
}

_FIXES = {
    "extra_forbidden": "unknown key; remove it or check its spelling (`cockpit schema` lists keys)",
    "missing": "required key is missing; add it",
    "union_tag_invalid": "unknown source kind",
    "union_tag_not_found": "the source needs a kind",
}


def _message(error: dict[str, Any], *, show_input: bool = True) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind in ("extra_forbidden", "missing"):
        return _FIXES[kind]
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        tags = ctx.get("expected_tags", "")
        return f"unknown source kind {ctx.get('tag')!r}; use one of {tags}"
    if kind == "union_tag_not_found":
        return f"{_FIXES[kind]}: add kind = one of {', '.join(sorted(_SOURCE_KINDS))}"
    if kind == "finite_number":
        return "nan and inf are not allowed; give a finite number"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind.endswith("_type") and show_input:
        got = repr(error.get("input"))
        return f"{msg} (got {got if len(got) <= 60 else got[:57] + '...'})"
    return msg


def _hint(loc: tuple[str | int, ...], message: str) -> str:
    """What the author most likely meant, where the plain message does not say it."""
    if "commands" in loc and message.startswith("Input should be a valid list"):
        return (
            f"{message}; commands is a list of commands, each one an argv list, e.g. "
            'commands = [["./rollback.sh", "--to", "v1"]]'
        )
    return message


def _locate(message: str, text: str) -> int | None:
    """The line a profile-wide rule points at (duplicate ids, unknown references).

    Those rules look across tables, so pydantic gives them no location; the message names
    the id, and the id is on one line of the file.
    """
    lines = text.split("\n")

    def lines_matching(pattern: str) -> list[int]:
        compiled = re.compile(pattern)
        return [
            n
            for n, line in enumerate(lines, start=1)
            if not line.lstrip().startswith("#") and compiled.search(line)
        ]

    duplicate = re.search(r"duplicate \w+ id '([^']+)'", message)
    if duplicate:
        found = lines_matching(rf"^\s*id\s*=\s*[\"']{re.escape(duplicate.group(1))}[\"']")
        return found[1] if len(found) > 1 else None
    unknown = re.search(r"unknown metric '([^']+)'", message)
    if unknown:
        name = re.escape(unknown.group(1))
        found = [
            n
            for n in lines_matching(rf"[\"']{name}[\"']|(^|[{{,])\s*{name}\s*=")
            if not re.match(r"^\s*id\s*=", lines[n - 1])
        ]
        return found[0] if found else None
    environment = re.search(r"uses environment '([^']+)'", message)
    if environment:
        name = re.escape(environment.group(1))
        found = lines_matching(rf"^\s*environment\s*=\s*[\"']{name}[\"']")
        return found[0] if found else None
    return None


def parse_profile(text: str, path: str = "<profile>") -> Profile:
    """Validate TOML text as a profile.

    Raises:
        ProfileError: with one Problem per error, each with its line where it can be found.
    """
    _check_shape(text, path)
    try:
        data = tomllib.loads(text)
    except RecursionError:  # the shape check should have refused it first
        raise ProfileError(
            [Problem(path, None, "", "TOML nested too deeply to read; flatten it")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        message = str(exc)
        if line is None:
            match = re.search(r"line (\d+)", message)
            line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", message)
        raise ProfileError(
            [Problem(path, line, "", f"TOML syntax error: {message}; fix the syntax there")]
        ) from None
    if not data:
        raise ProfileError(
            [Problem(path, None, "", "the profile is empty; start from profiles/demo.toml")]
        )
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(validation_problems(exc, path, text, data=data)) from None
    misplaced = list(misplaced_references(profile))
    if misplaced:
        lines = key_lines(text)
        raise ProfileError(
            [
                Problem(path, line_of(lines, loc), _format_loc(loc, data), why)
                for loc, why in misplaced
            ]
        )
    return profile


def validation_problems(
    exc: ValidationError,
    path: str,
    text: str | None = None,
    *,
    data: Any = None,
    show_input: bool = True,
) -> list[Problem]:
    """One :class:`Problem` per error of a validation, located in ``text`` when given.

    ``show_input=False`` leaves the offending values out of the messages (pydantic's own
    ``str(exc)`` prints them): for values substituted from the environment, secrets included.
    """
    lines = key_lines(text) if text is not None else {}
    problems = []
    for error in exc.errors(include_input=show_input):
        loc = _clean_loc(tuple(error["loc"]))
        if error["type"] == "union_tag_invalid":
            loc = (*loc, "kind")
        message = _message(dict(error), show_input=show_input)
        line: int | None = None
        if text is not None:
            line = line_of(lines, loc) if loc else _locate(message, text)
        problems.append(Problem(path, line, _format_loc(loc, data), _hint(loc, message)))
    return problems


def load_profile(path: Path | str) -> Profile:
    """Read and validate a profile file.

    Raises:
        ProfileError: for a missing, unreadable, non-UTF-8, binary or invalid file.
    """
    name = str(path)
    try:
        raw = read_regular_file(path, PROFILE_SIZE_LIMIT, what="profile")
    except FileRefused as exc:
        fixes = {
            errno.ENOENT: "no such file; check the path",
            errno.EACCES: "permission denied; check the file's mode",
        }
        reason = fixes.get(exc.errno or 0, exc.reason)
        raise ProfileError([Problem(name, None, "", reason)]) from None
    if b"\x00" in raw:
        raise ProfileError([Problem(name, None, "", "binary data, not a TOML profile")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProfileError(
            [Problem(name, line, "", f"not UTF-8 (byte {exc.start}); save the file as UTF-8")]
        ) from None
    return parse_profile(text, name)
