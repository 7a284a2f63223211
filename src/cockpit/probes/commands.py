"""``cockpit check PROFILE [--json]``: run the readiness checks and sample every metric once.

Exit status: 0 when every automated check and every metric PASSes, 1 otherwise, 2 for a
profile that cannot be used (with one line per problem). Manual checks are listed as
"manual — confirmed by <role> in the cockpit" and do not affect the exit status: nobody
can confirm them from a one-shot command.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from cockpit.clock import Clock, SystemClock
from cockpit.inert import inert, json_text
from cockpit.probes.base import HttpClients, format_value
from cockpit.probes.measure import manual_sample, run_check, sample_metric_with
from cockpit.profile.loader import ProfileError, load_profile
from cockpit.profile.models import Profile, Threshold
from cockpit.profile.resolve import resolve_profile
from cockpit.runner.redact import Redactor
from cockpit.sample import Sample, Status

_STYLES = {
    Status.PASS: "bold green",
    Status.FAIL: "bold red",
    Status.INCONCLUSIVE: "bold yellow",
    Status.ERROR: "bold magenta",
}


@dataclass(frozen=True)
class Row:
    """One line of the report: a check or a metric and its sample."""

    kind: str
    title: str
    source: str
    sample: Sample
    threshold: Threshold | None
    manual_role: str | None = None

    @property
    def counts(self) -> bool:
        """Whether this row decides the exit status (manual checks do not)."""
        return self.manual_role is None

    def to_json(self) -> dict[str, Any]:
        """The sample's journal form plus what it is."""
        doc = self.sample.to_json()
        doc.update(title=self.title, kind=self.kind, source=self.source)
        return doc


async def run_all(
    profile: Profile, *, clock: Clock, secrets: Sequence[str] = (), concurrency: int = 16
) -> list[Row]:
    """Every automated check and one sample of every metric, concurrently, in profile order."""
    clients = HttpClients(pool_size=concurrency)
    slots = asyncio.Semaphore(concurrency)

    async def bounded_check(index: int) -> Sample:
        async with slots:
            return await run_check(
                profile.checks[index],
                profile,
                clock=clock,
                secrets=secrets,
                http=clients.get(verify=True),
            )

    async def bounded_metric(index: int) -> Sample:
        async with slots:
            return await sample_metric_with(
                profile.metrics[index], clock=clock, secrets=secrets, clients=clients
            )

    def is_system(index: int) -> bool:
        source = profile.checks[index].source
        return source is not None and source.kind == "system"

    automated = [i for i, c in enumerate(profile.checks) if c.source is not None]
    by_check: dict[int, Sample] = {}
    try:
        # The host is measured first, on its own: the command checks start Python
        # processes whose start-up would otherwise show up as our own CPU spike.
        system = [i for i in automated if is_system(i)]
        for i, sample in zip(
            system, await asyncio.gather(*(bounded_check(i) for i in system)), strict=True
        ):
            by_check[i] = sample
        others = [i for i in automated if not is_system(i)]
        results = await asyncio.gather(
            asyncio.gather(*(bounded_check(i) for i in others)),
            asyncio.gather(*(bounded_metric(i) for i in range(len(profile.metrics)))),
        )
        check_samples, metric_samples = results
    finally:
        await clients.aclose()
    by_check.update(zip(others, check_samples, strict=True))
    rows: list[Row] = []
    for i, check in enumerate(profile.checks):
        if check.manual is not None:
            rows.append(
                Row(
                    "check",
                    check.title,
                    "manual",
                    manual_sample(check, clock),
                    None,
                    check.manual.role,
                )
            )
        else:
            assert check.source is not None
            rows.append(Row("check", check.title, check.source.kind, by_check[i], check.threshold))
    for metric, sample in zip(profile.metrics, metric_samples, strict=True):
        rows.append(Row("metric", metric.title, metric.source.kind, sample, metric.threshold))
    return rows


def _age(sample: Sample, now: float) -> str:
    age = max(0.0, now - sample.measured_at)
    return f"{age:.1f}s" if age < 60 else f"{age / 60:.0f}m"


def render(rows: Sequence[Row], console: Console, *, now: float) -> None:
    """Print the rows as a table readable without colour."""
    table = Table(title="cockpit check", title_justify="left", expand=False)
    table.add_column("status", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("id / title")
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("threshold", no_wrap=True)
    table.add_column("age", justify="right", no_wrap=True)
    table.add_column("why")
    for row in rows:
        s = row.sample
        if row.manual_role is not None:
            status = Text("· MANUAL", style="dim")
            why = f"manual — confirmed by {row.manual_role} in the cockpit"
        else:
            status = Text(f"{s.status.symbol} {s.status.value}", style=_STYLES[s.status])
            why = s.detail
        value = (
            "" if s.value is None else f"{format_value(s.value)}{' ' + s.unit if s.unit else ''}"
        )
        threshold = row.threshold.describe(s.unit) if row.threshold is not None else ""
        table.add_row(
            status,
            row.kind,
            Text(f"{s.id}\n{inert(row.title)}"),
            Text(inert(value)),  # the unit comes from the profile
            Text(inert(threshold)),
            "" if row.manual_role else _age(s, now),
            Text(inert(why)),
        )
    console.print(table)


def summary(rows: Sequence[Row]) -> tuple[int, str]:
    """Exit status and a one-line summary."""
    counted = [r for r in rows if r.counts]
    failing = [r for r in counted if r.sample.status is not Status.PASS]
    manual = len(rows) - len(counted)
    tail = f"; {manual} manual check(s) left for the cockpit" if manual else ""
    if failing:
        names = ", ".join(f"{r.sample.id} {r.sample.status.value}" for r in failing)
        return 1, f"NOT READY: {len(failing)} of {len(counted)} not PASS ({names}){tail}"
    return 0, f"READY: {len(counted)} of {len(counted)} PASS{tail}"


def check_command(args: argparse.Namespace) -> int:
    """``cockpit check``: 0 all PASS, 1 any automated check or metric not PASS, 2 bad profile."""
    try:
        profile = load_profile(args.profile)
        resolved = resolve_profile(profile, os.environ)
    except ProfileError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    clock = SystemClock()
    try:
        rows = asyncio.run(run_all(resolved.profile, clock=clock, secrets=resolved.secrets))
    except Exception as exc:  # never a traceback; measure() itself never raises
        message = f"error: cockpit check failed: {type(exc).__name__}: {exc}"
        print(Redactor(resolved.secrets).shown(message), file=sys.stderr)
        return 2
    status, line = summary(rows)
    if args.json:
        print(json_text([r.to_json() for r in rows], indent=2))
        return status
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    render(rows, console, now=clock.wall())
    console.print(Text(line))
    return status
