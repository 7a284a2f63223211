"""Rich renderables of an incident session: the short briefing beside R and the rollback plan.

The briefing answers what a war room asks first: what is RED now (values, since when), what R
will run, what we do if it fails, and what the Monitor has done beside R. Nothing in it is a
gate: R is in the key bar from the first frame.
"""

from __future__ import annotations

import datetime as dt

from rich.text import Text

from cockpit.durations import format_clock, format_duration
from cockpit.engine import State
from cockpit.engine.baseline import red_stretches
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
            red.append((metric, last.value, red_since(state, metric.id)))
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


def red_since(state: State, metric_id: str) -> float | None:
    """When a metric RED now went RED: from its history when the RED stretch there reaches
    the first live sample, else from the live samples."""
    assert state.profile is not None
    ms = state.metrics[metric_id]
    live = ms.red_since()
    if live is None or not ms.history or live != ms.history[0].measured_at:
        return live  # it went RED while the cockpit watched (or is not RED)
    past = ms.past
    if past is None or not past.points:
        return live
    stretches = red_stretches(state.profile.metric(metric_id), past.points)
    if stretches and stretches[-1].now:
        return stretches[-1].start
    return live


def baseline(state: State) -> Text:
    """Where the baseline comes from, and each verified metric's."""
    assert state.profile is not None and state.incident is not None
    text = styled("BASELINE  ", "bold")
    taken = state.incident.baseline
    if taken is None:
        text.append("reading the history from before the incident…\n", style="dim")
        return text
    at = taken.get("at")
    source = taken.get("source")
    if source == "baseline-at" and isinstance(at, int | float):
        text.append(f"as at {utc(at)} ({t_relative(state, at)}), the time the crew gave\n")
    elif source == "red-stretch" and isinstance(at, int | float):
        text.append(
            f"from before the first RED stretch: RED since {utc(at)}, {t_relative(state, at)}\n"
        )
    else:
        text.append("the thresholds: the history shows no RED stretch to take it before\n")
    metrics = dict(taken.get("metrics") or {})
    for metric_id in state.profile.rollback.verify.metrics:
        entry = dict(metrics.get(metric_id) or {})
        metric = state.profile.metric(metric_id)
        value = entry.get("value")
        if isinstance(value, int | float):
            shown = f"{value_text(float(value), metric.unit)} ({entry.get('why')})"
        else:
            shown = str(entry.get("why") or "verified against the threshold")
        text.append(f"  {metric.title}: ", style="bold")
        text.append(f"{shown}\n")
    return text


def verified_when(state: State) -> Text:
    """The verification rule, before R: what "back" will mean, with the profile's numbers."""
    assert state.profile is not None
    profile = state.profile
    verify = profile.rollback.verify
    metrics = [profile.metric(m) for m in verify.metrics]
    counts = {m.pass_count for m in metrics}
    passes = (
        f"{counts.pop()} fresh passes" if len(counts) == 1 else "its pass_count of fresh passes"
    )
    absolute = " (or tolerance_abs)" if verify.tolerance_abs else ""
    text = styled("VERIFIED WHEN  ", "bold")
    text.append(
        f"within {format_duration(verify.within)} of the rollback, each metric above has "
        f"{passes} in a row, inside its threshold and within {verify.tolerance_pct:g} %"
        f"{absolute} of its baseline (or better); then "
        f"{format_duration(profile.health.duration)} GREEN mitigates\n"
    )
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
    text.append("ALTERNATE  ", style="bold")
    text.append(state.profile.briefing.contingency.alternate + "\n")
    text.append_text(trigger_time(state))
    text.append_text(baseline(state))
    text.append_text(verified_when(state))
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
    if brief:  # 80x24: one line, the rows keep their room
        todo = [("t read back the triggers", todo_readback), ("v verify the rollback", todo_verify)]
        keys = [words for words, due in todo if due]
        return styled(f"MONITOR, beside R: {' · '.join(keys)}", "bold")
    text = styled("MONITOR, beside R (never in front of it):\n", "bold")
    if todo_readback:
        text.append("  t  read back the rollback triggers:\n")
        for trigger in resolved.briefing.contingency.triggers:
            text.append(f"     ▸ {trigger}\n")
    if todo_verify:
        text.append("  v  verify the rollback command:\n")
        shell = "/bin/sh -c " if resolved.rollback.shell else ""
        for argv in resolved.rollback.commands:
            text.append(f"     $ {shell}{' '.join(argv)}\n")
    return text
