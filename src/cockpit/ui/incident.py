"""Rich renderables of an incident session: the short briefing beside R and the rollback plan.

The briefing answers what a war room asks first: what is RED now (values, since when), what R
will run, what we do if it fails, and what the Monitor has done beside R. Nothing in it is a
gate: R is in the key bar from the first frame.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text

from cockpit.durations import format_clock
from cockpit.engine import State
from cockpit.profile.models import Profile
from cockpit.sample import Status
from cockpit.ui.render import status_text, styled, value_text


def utc(wall: float) -> str:
    """``05:12:40`` in UTC, as the journal and the top bar tell time."""
    return dt.datetime.fromtimestamp(wall, tz=dt.UTC).strftime("%H:%M:%S")


def t_relative(state: State, wall: float) -> str:
    """``T-07:20`` before T0, ``T+00:12`` after it."""
    if state.t0 is None:
        return utc(wall)
    delta = wall - state.t0
    return ("T-" if delta < 0 else "T+") + format_clock(abs(delta))


def observed(state: State) -> Text:
    """The metrics RED now, each with its value, its threshold and since when."""
    assert state.profile is not None
    text = styled("OBSERVED", "bold")
    red = []
    measured = 0
    for metric in state.profile.metrics:
        ms = state.metrics[metric.id]
        last = ms.last
        if last is None:
            continue
        measured += 1
        if last.status is Status.FAIL:
            red.append((metric, last.value, ms.red_since()))
    if not red:
        words = "measuring…" if not measured else "nothing RED in the latest samples"
        text.append(f"  {words}\n", style="dim")
        return text
    text.append(f"  {len(red)} RED now\n")
    for metric, value, since in red:
        text.append("  ")
        text.append_text(status_text(Status.FAIL))
        text.append(f" {metric.title} {value_text(value, metric.unit)}", style="bold")
        text.append(f" (needs {metric.threshold.describe(metric.unit)})")
        if since is not None:
            text.append(f" · RED since {utc(since)}, {t_relative(state, since)}")
        text.append("\n")
    return text


def rollback_plan(state: State, resolved: Profile) -> Text:
    """The rollback commands as they will run (references resolved), with their progress."""
    rb = state.rollback
    head = "ROLLBACK" if rb is not None else "ROLLBACK PLAN (R runs it at once)"
    text = styled(head + "\n", "bold")
    shell = "/bin/sh -c " if resolved.rollback.shell else ""
    for index, argv in enumerate(resolved.rollback.commands):
        mark = "·"
        style = ""
        if rb is not None and index < len(rb.commands):
            command = rb.commands[index]
            if command.finished:
                ok = command.exit_code == 0 and command.why is None
                mark, style = ("✔", "green") if ok else ("✘", "bold red")
            elif command.pid is not None:
                mark, style = "▶", "bold"
        text.append(f"  {mark} $ {shell}{' '.join(argv)}", style=style)
        if rb is not None and index < len(rb.commands) and rb.commands[index].finished:
            command = rb.commands[index]
            text.append(
                f"  exit {command.exit_code}" if command.why is None else f"  {command.why}"
            )
        text.append("\n")
    return text


def briefing(state: State, resolved: Profile) -> Text:
    """The incident briefing: observed, the plan, the alternate, the checks, the Monitor."""
    assert state.profile is not None and state.incident is not None
    incident = state.incident
    text = styled("INCIDENT DECLARED", "bold reverse")
    text.append(f" at {utc(incident.declared)} UTC (T0) by {incident.by}: R rolls back now\n")
    text.append_text(observed(state))
    text.append_text(rollback_plan(state, resolved))
    text.append_text(trigger_time(state))
    text.append("ALTERNATE  ", style="bold")
    text.append(state.profile.briefing.contingency.alternate + "\n")
    checks = [c for c in state.profile.checks if c.guards("rollback")]
    if checks:
        text.append("CHECKS beside R (they inform, never block)\n", style="bold")
    for check in checks:
        cs = state.checks[check.id]
        text.append("  ")
        if check.manual is not None:
            key = "c" if check.manual.role == "operator" else "k"
            if cs.confirmed_by:
                text.append("✔ CONFIRMED", style="bold green")
                text.append(f" {check.title} (by {cs.confirmed_by})\n")
            else:
                text.append("? CONFIRM", style="bold yellow")
                text.append(f" {check.title} ({check.manual.role.capitalize()}: {key})\n")
            continue
        sample = cs.sample
        text.append_text(status_text(sample.status if sample else None))
        text.append(f" {check.title}")
        text.append(f" · {sample.detail}\n" if sample else " · measuring…\n", style="dim")
    text.append("MONITOR  ", style="bold")
    if state.readback_by:
        text.append(f"✔ triggers read back by {state.readback_by}", style="green")
    else:
        text.append("triggers not read back yet (t)", style="yellow")
    text.append(" · ")
    if incident.plan_verified_by:
        text.append(f"✔ rollback command verified by {incident.plan_verified_by}", style="green")
    else:
        text.append("rollback command not verified yet (v)", style="yellow")
    return text


def trigger_time(state: State) -> Text:
    """The trigger-time rule as it applies from T0."""
    assert state.profile is not None
    contingency = state.profile.briefing.contingency
    then = (
        "the rollback starts by itself"
        if state.profile.rollback.on_trigger_time == "automatic"
        else "ROLLBACK ADVISED"
    )
    text = styled("TRIGGER TIME  ", "bold")
    text.append(f"not GREEN by T+{format_clock(contingency.trigger_time)}: {then}\n")
    return text


def monitor_task(state: State, resolved: Profile, *, brief: bool = False) -> Text:
    """What the Monitor does beside R: read back the triggers, verify the rollback command."""
    assert state.incident is not None
    todo_readback = state.readback_by is None
    todo_verify = state.incident.plan_verified_by is None
    if not todo_readback and not todo_verify:
        return (
            Text("")
            if brief
            else styled("MONITOR: watch the metrics; R rolls back at once.", "bold")
        )
    text = styled("MONITOR, beside R (never in front of it):\n", "bold")
    if todo_readback:
        text.append("  t  read back the rollback triggers:\n")
        if not brief:
            for trigger in resolved.briefing.contingency.triggers:
                text.append(f"     ▸ {trigger}\n")
    if todo_verify:
        text.append("  v  verify the rollback command:\n")
        shell = "/bin/sh -c " if resolved.rollback.shell else ""
        for argv in resolved.rollback.commands:
            text.append(f"     $ {shell}{' '.join(argv)}\n")
    return text
