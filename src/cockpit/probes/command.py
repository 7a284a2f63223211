"""Command probes: a short command whose exit status (or a number it prints) is the verdict.

The command runs through :func:`cockpit.runner.command.run_command`: its own session, stdin from
/dev/null, the process group killed on timeout or cancellation, secrets redacted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cockpit.probes.base import ProbeContext
from cockpit.profile.models import CommandSource
from cockpit.runner.command import CommandResult, run_command
from cockpit.sample import Sample

_DEADLINE_MARGIN = 0.25
"""Seconds the runner's own timeout fires before the probe's total deadline, so that the
runner reports the timeout (and kills the group) rather than being cancelled mid-way."""


async def run_short(
    argv: Sequence[str],
    ctx: ProbeContext,
    *,
    shell: bool = False,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run a probe's command with the probe's deadline and secrets."""
    timeout = max(0.1, ctx.timeout - _DEADLINE_MARGIN)
    return await run_command(
        list(argv), shell=shell, env=env or None, timeout=timeout, secrets=ctx.secrets
    )


def last_line(*texts: str) -> str:
    """The last non-empty line of the first text that has one."""
    for text in texts:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines:
            return lines[-1]
    return ""


def explain_failure(result: CommandResult, timeout: float) -> str | None:
    """Why the command measured nothing (could not start, timed out), or ``None``."""
    if result.timed_out:
        output = last_line(result.stderr, result.stdout)
        return f"timed out after {timeout:g}s" + (f": {output}" if output else "")
    if result.error:
        return f"could not run: {result.error}"
    if result.exit_code is None:
        return "ended without an exit status"
    return None


async def probe_command(source: CommandSource, ctx: ProbeContext) -> Sample:
    """Run the command; PASS on ``expect_exit`` (and with ``value_regex``, a value inside)."""
    result = await run_short(source.command, ctx, shell=source.shell, env=source.env)
    problem = explain_failure(result, ctx.timeout)
    if problem:
        return ctx.error(problem)
    if result.exit_code != source.expect_exit:
        why = last_line(result.stderr, result.stdout) or "no output"
        return ctx.fail(f"exit {result.exit_code} (expected {source.expect_exit}): {why}")
    if source.value_regex is None:
        return ctx.sample_pass(f"exit {result.exit_code}: {last_line(result.stdout) or 'ok'}")
    match = re.search(source.value_regex, result.stdout)
    if match is None:
        return ctx.error(f"no match for value_regex {ctx.quote(source.value_regex)} in the output")
    try:
        value = float(match.group(1))
    except (TypeError, ValueError):
        return ctx.error(f"value_regex matched {ctx.quote(match.group(1) or '')}, not a number")
    return ctx.judge(value, f"exit {result.exit_code}")
