"""Environment catalog probes (12-factor): declared variables vs the example file vs the
environment. Details name variables only, never their values."""

from __future__ import annotations

import asyncio
import errno
import os
import re
from collections.abc import Mapping

from cockpit.files import FileRefused, read_regular_file
from cockpit.probes.base import ProbeContext
from cockpit.profile.models import EnvCatalogSource
from cockpit.sample import Sample, Status

_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def example_names(text: str) -> list[str]:
    """Variable names of a ``.env.example``: ``KEY=VALUE`` lines; comments and blanks ignored."""
    names: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _ASSIGNMENT.match(line)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


EXAMPLE_SIZE_LIMIT = 1 << 20
"""The largest example file read (a FIFO or device is never read)."""


def _read(path: str) -> str:
    try:
        data = read_regular_file(path, EXAMPLE_SIZE_LIMIT, what="example file")
    except FileRefused as exc:
        if exc.errno == errno.ENOENT:
            raise FileNotFoundError(path) from None
        raise
    return data.decode("utf-8")


async def probe_env_catalog(
    source: EnvCatalogSource, ctx: ProbeContext, environ: Mapping[str, str] | None = None
) -> Sample:
    """FAIL listing orphans (in the example, not declared), missing and empty variables."""
    env = os.environ if environ is None else environ
    declared = list(dict.fromkeys(source.declared))
    problems: list[str] = []
    if source.example_file is not None:
        try:
            text = await asyncio.to_thread(_read, source.example_file)
        except FileNotFoundError:
            return ctx.error(f"no such example file: {source.example_file}")
        except FileRefused as exc:
            return ctx.error(f"cannot read {source.example_file}: {exc.reason}")
        except (OSError, UnicodeDecodeError) as exc:
            return ctx.error(f"cannot read {source.example_file}: {exc}")
        orphans = [n for n in example_names(text) if n not in declared]
        if orphans:
            problems.append(f"orphan in {source.example_file}: {', '.join(orphans)}")
    missing = [n for n in declared if n not in env]
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    empty = [n for n in declared if n in env and env[n] == "" and n not in source.allow_empty]
    if empty:
        problems.append(f"empty: {', '.join(empty)}")
    if problems:
        return ctx.fail("; ".join(problems))
    return ctx.sample(Status.PASS, f"{len(declared)} declared variables set")
