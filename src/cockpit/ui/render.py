"""Rich renderables of the session state. Text first: every state reads without colour."""

from __future__ import annotations

import datetime as dt

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.text import Span, Text

from cockpit.durations import format_clock
from cockpit.engine import Phase, State, StepStatus, Verdict, comparison
from cockpit.engine.state import Past
from cockpit.engine.verdict import bound_short, verification_rule
from cockpit.guide import KEYS, Next
from cockpit.inert import TAB_SIZE, inert, is_inert
from cockpit.profile.models import Metric, Profile
from cockpit.profile.shell import QUOTED_NOTE, has_references
from cockpit.sample import Sample, Status
from cockpit.sparkline import buckets as spark_buckets
from cockpit.sparkline import data_start, sparkline


def styled(text: str, style: str) -> Text:
    """Text whose style covers these characters only: what is appended later stays plain.

    (``Text(text, style=...)`` sets the base style of the whole line instead.)
    """
    return Text.assemble((text, style))


STATUS_STYLE = {
    Status.PASS: "bold green",
    Status.FAIL: "bold red reverse",
    Status.INCONCLUSIVE: "bold yellow",
    Status.ERROR: "bold magenta reverse",
}
VERDICT_TEXT = {
    Verdict.GREEN: ("✔ GREEN", "bold green"),
    Verdict.FAILED: ("✘ RED", "bold red reverse"),
    Verdict.INCONCLUSIVE: ("? INCONCLUSIVE", "bold yellow"),
    Verdict.PENDING: ("… PENDING", "bold yellow"),
}


def status_text(status: Status | None) -> Text:
    """``✔ PASS`` and friends: symbol and word, so colour is only a bonus."""
    if status is None:
        return styled("· ----", "dim")
    return styled(f"{status.symbol} {status.value}", STATUS_STYLE[status])


def value_text(value: float | None, unit: str) -> str:
    """A number with its unit, short."""
    if value is None:
        return "—"
    text = f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}".strip()


def age_text(
    sample: Sample | None, now: float, staleness: float | None = None, *, step: float = 1.0
) -> Text:
    """How old a value is, in whole ``step`` seconds; a stale one says STALE."""
    if sample is None:
        return Text("")
    age = max(0.0, now - sample.measured_at)
    label = _age_label(age, step)
    if staleness is not None and age > staleness:
        return styled(f"STALE {label}", "bold yellow reverse")
    return styled(label, "dim")


def _age_label(age: float, step: float) -> str:
    shown = age // step * step
    label = f"{shown:.0f}s" if age < 100 else format_clock(age)
    if step > 1 and age < step:
        label = f"<{step:.0f}s"
    return label


HISTORY_STYLE = "blue"
"""The part of a sparkline read from the history: apart from the live samples (cyan), and
separated from them by a bar that reads without colour too."""
HISTORY_SEPARATOR = "│"


def buckets(past: Past, cells: int) -> list[float | None]:
    """The history as ``cells`` values (see :func:`cockpit.sparkline.buckets`)."""
    return spark_buckets(past.points, data_start(past.start, past.points), past.end, cells)


def history_spark(metric: Metric, state: State, width: int, past: Past | None = None) -> Text:
    """The sparkline of a metric, ``width`` cells: its history (when there is one), a bar,
    then the live samples, all on one scale; or what there is to say about the history.

    ``past``: the history to draw instead of the one the state holds (a replay's Prometheus
    history up to the replayed moment).
    """
    ms = state.metrics[metric.id]
    live = [s.value for s in ms.history]
    past = past or ms.past
    text = Text()
    if past is not None and past.points and width >= 3:
        # The history keeps at least half the cells however many live samples arrive.
        live_cells = min(len(live), max(0, width - 1 - max(1, width // 2)))
        values = buckets(past, width - 1 - live_cells)
        shown_live = live[len(live) - live_cells :] if live_cells else []
        numbers = [v for v in (*values, *shown_live) if v is not None]
        scale = (min(numbers), max(numbers)) if numbers else None
        text.append(sparkline(values, len(values), scale), style=HISTORY_STYLE)
        text.append(HISTORY_SEPARATOR, style="dim")
        text.append(sparkline(shown_live, live_cells, scale), style="cyan")
        text.pad_right(width - len(text))
        return text
    recent = sparkline(live, width)
    note = _no_history(metric, past)
    room = width - len(recent) - 1
    if note and room >= len(note):
        text.append(note.ljust(room) + " ", style="dim")
    else:
        text.append(" " * max(0, width - len(recent)))
    text.append(recent, style="cyan")
    return text


def _no_history(metric: Metric, past: Past | None) -> str:
    if metric.source.kind != "prometheus":
        return "no history"
    if past is None:
        return ""  # being read
    return "✘ no history" if past.error else "no history"


def history_note(state: State) -> Text:
    """The line under the rows: why a Prometheus metric has no history; in an incident also
    which metrics have none at all (they are verified against their threshold)."""
    if state.profile is None:
        return Text("")
    failed = []
    without = []
    for metric in state.profile.metrics:
        past = state.metrics[metric.id].past
        if metric.source.kind != "prometheus":
            without.append(metric.title)
        elif past is not None and past.error:
            failed.append((metric.title, past.error))
    if failed:
        title, error = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        return styled(f"✘ no history for {title}: {error}{more}", "yellow")
    if without and state.is_incident:
        return styled(f"no history (not Prometheus): {', '.join(without)}", "dim")
    return Text("")


def clock_text(state: State, now: float) -> str:
    """What the big timer shows: T+mm:ss from T0, or the UTC wall clock before it.

    UTC, like the journal and the report: a war room spans time zones.
    """
    if state.t0 is None:
        return dt.datetime.fromtimestamp(now, tz=dt.UTC).strftime("%H:%M:%S")
    end = state.finished if state.finished is not None else now
    return "+" + format_clock(end - state.t0)


LOOP_STOPPED_WORDS = {
    "clock": "{rule} NOT ARMED: clock stopped",
    "probes": "METRICS NOT SAMPLED: probes stopped",
    "checks": "CHECKS NOT RE-RUN: check loop stopped",
    "output": "STEP OUTPUT NOT SHOWN: output reader stopped",
    "follow": "NOT FOLLOWING THE SESSION: journal reader stopped",
    "processes": "PROCESSES NOT FOLLOWED: see the record",
    "lock": "LOCK NOT WATCHED: lock loop stopped",
}
"""What the top bar says when a loop stopped: what no longer happens, first."""


def loop_alarm(state: State) -> Text:
    """The top bar's words for loops that stopped or keep failing (empty while all work)."""
    if not state.loops or state.profile is None:
        return Text("")
    automatic = state.profile.rollback.on_trigger_time == "automatic"
    rule = "AUTO-ROLLBACK" if automatic else "TRIGGER TIME"
    parts: list[str] = []
    for name, fault in sorted(state.loops.items(), key=lambda kv: (not kv[1].stopped, kv[0])):
        if fault.stopped:
            words = LOOP_STOPPED_WORDS.get(name, f"{name.upper()} STOPPED")
            parts.append("✘ " + words.format(rule=rule))
        else:
            parts.append(f"⚠ {name.upper()} FAILING: {fault.error}")
    return styled(" " + " · ".join(parts) + " ", "bold white on red")


def countdown_text(state: State, now: float) -> Text:
    """``AUTO-ROLLBACK IN 4:12`` while a stop point is not GREEN (or what it will advise)."""
    deadline = state.trigger_deadline()
    if state.profile is None:
        return Text("")
    clock = state.loops.get("clock")
    if deadline is not None and clock is not None and clock.stopped:
        return styled(" NOT ARMED ", "bold white on red")  # the line beside it says why
    if deadline is None:
        if state.phase is Phase.HEALTH and state.health_started is not None:
            left = max(0.0, state.health_started + state.profile.health.duration - now)
            return styled(f" SOAK {format_clock(left)} LEFT ", "bold reverse")
        incident = state.incident
        if state.phase is Phase.STABILIZING and incident is not None:
            started = incident.stabilization_started or now
            left = max(0.0, started + state.profile.health.duration - now)
            return styled(f" STABLE? {format_clock(left)} LEFT ", "bold reverse")
        return Text("")
    left = max(0.0, deadline - now)
    automatic = state.profile.rollback.on_trigger_time == "automatic"
    word = "AUTO-ROLLBACK IN" if automatic else "ROLLBACK DUE IN"
    return Text(
        f" {word} {format_clock(left)} ", style="bold white on red" if left < 60 else "bold reverse"
    )


def environment_text(state: State) -> Text:
    """The environment, unmistakable: PRODUCTION in red, staging in amber."""
    if state.profile is None:
        return Text("")
    stage_env = _current_environment(state)
    if stage_env.lower() in ("production", "prod"):
        text = styled(" ■ PRODUCTION ", "bold white on red")
    elif stage_env.lower() in ("staging", "stage"):
        text = styled(f" ▲ {stage_env.upper()} ", "bold black on yellow")
    else:
        text = styled(f" {stage_env.upper()} ", "bold reverse")
    crew = state.profile.crew
    if crew is not None and crew.single_operator:
        # Said at every step: one OS user may act as both Operator and Monitor.
        text += Text(" ") + styled(" SINGLE OPERATOR ", "bold black on yellow")
    return text


def _current_environment(state: State) -> str:
    assert state.profile is not None
    upcoming = state.next_step()
    steps = state.profile.steps()
    if upcoming is not None:
        return steps[upcoming[0]][0].environment
    return steps[-1][0].environment


def phase_text(state: State) -> Text:
    """The phase, with HOLD on top of it when held, and the deploy lock after it."""
    text = styled(state.phase.value, "bold")
    if state.hold is not None:
        text = styled("HOLD", "bold black on yellow") + Text(f" ({state.phase.value})")
    return text + lock_text(state)


def lock_text(state: State) -> Text:
    """The deploy lock, after the phase: who holds it, or that it is kept or released."""
    lock = state.lock
    if lock is None:
        return Text("")
    if lock.kept:
        return styled(" · LOCK KEPT: cockpit unlock", "bold")
    return Text("")  # held or released: the normal cases; lost: the alarm says LOCK LOST


def lock_alarm(state: State) -> Text:
    """``✘ LOCK LOST: why`` while the lock is lost (empty otherwise)."""
    lock = state.lock
    if lock is None or lock.held or lock.released is not None:
        return Text("")
    return styled(
        f" ✘ LOCK LOST: {inert(lock.lost or '?')} · no new step; R still works ",
        "bold white on red",
    )


# ---------------------------------------------------------------- operator pane


def briefing(state: State) -> RenderableType:
    """AIM-C, with the readback status."""
    assert state.profile is not None
    b = state.profile.briefing
    text = Text()
    text.append("AIM  ", style="bold")
    text.append(b.aim + "\n")
    text.append("INTENT  ", style="bold")
    text.append(b.intent + "\n")
    text.append("MISHAPS\n", style="bold")
    for m in b.mishaps:
        text.append(f"  • {m}\n")
    text.append("CONTINGENCY: roll back when\n", style="bold")
    for t in b.contingency.triggers:
        text.append(f"  ▸ {t}\n")
    text.append(
        f"  ▸ enforced: not GREEN {format_clock(b.contingency.trigger_time)} after a step "
        "→ rollback\n"
    )
    text.append("ALTERNATE  ", style="bold")
    text.append(b.contingency.alternate + "\n")
    if state.readback_by:
        text.append(
            f"✔ triggers read back by the Monitor ({state.readback_by})", style="bold green"
        )
    else:
        text.append("✘ the Monitor has not read the triggers back yet (t)", style="bold red")
    return text


CHECK_AGE_STEP = 5.0
"""Checks re-run every few seconds: their age in 5 s steps is all a person needs."""


def checklist_ages(state: State, now: float) -> tuple[str, ...]:
    """What of the checklist moves with time alone: each measured check's age, as shown.

    Everything else in it changes only with an event (a result, a confirmation, a GO).
    """
    assert state.profile is not None
    return tuple(
        _age_label(max(0.0, now - sample.measured_at), CHECK_AGE_STEP)
        for check in state.profile.checks
        if check.manual is None and (sample := state.checks[check.id].sample) is not None
    )


def scroll_hint(y: float, most: float) -> Text:
    """Where a scrolled pane's view is, in words for its title: more above, below, or both."""
    above, below = y >= 1, most - y >= 1
    if above and below:
        return styled("  ▲▼ more: PgUp/PgDn", "bold")
    if below:
        return styled("  ▼ more below: PgDn", "bold")
    if above:
        return styled("  ▲ more above: PgUp", "dim")
    return Text("")


CHECK_INDENT = 14
"""Where a check's title and the lines below it start (after "✔ CONFIRMED ")."""


def checklist(state: State, now: float) -> list[Text]:
    """The readiness checks, two parts per check (symbol, word and title; then why and how
    old, shown indented under the title so that a long one wraps under itself), and last the
    two GO lines. Each part is its own widget: an age that moves redraws its own lines, not
    the whole checklist."""
    assert state.profile is not None
    parts = []
    for check in state.profile.checks:
        cs = state.checks[check.id]
        if check.manual is not None:
            role = check.manual.role
            if cs.confirmed_by:
                status = styled("✔ CONFIRMED", "bold green")
                why = Text(f"by {cs.confirmed_by} ({role})")
            else:
                key = "c" if role == "operator" else "k"
                status = styled("? CONFIRM", "bold yellow")
                why = Text(f"{role.capitalize()} ({key}): {check.manual.prompt}")
        else:
            sample = cs.sample
            status = status_text(sample.status if sample else None)
            why = Text(sample.detail if sample else "measuring…")
            if sample is not None:
                why.append(" · ")
                why.append_text(age_text(sample, now, step=CHECK_AGE_STEP))
        status.pad_right(max(0, CHECK_INDENT - len(status)))
        head = Text()
        head.append_text(status)
        head.append(check.title, style="bold")
        why.stylize("dim")
        parts += [head, why]
    go = Text()
    for role in ("operator", "monitor"):
        person = state.crew.get(role, role)
        if role in state.go:
            go.append(f"✔ GO          {role.capitalize()} ({person})\n", style="bold green")
        else:
            go.append(f"· GO?         {role.capitalize()} ({person})\n", style="bold")
    parts.append(go)
    return parts


STEP_MARK = {
    StepStatus.PENDING: "·",
    StepStatus.STARTING: "▶",
    StepStatus.RUNNING: "▶",
    StepStatus.SUCCEEDED: "✔",
    StepStatus.FAILED: "✘",
}


def steps(state: State, resolved: Profile) -> Text:
    """The procedure's steps with their status, gates and the command to verify.

    Commands come from ``resolved``: the Monitor verifies what will really run.
    """
    text = Text()
    upcoming = state.next_step()
    for index, (stage, step) in enumerate(resolved.steps()):
        s = state.steps[index]
        mark = STEP_MARK[s.status]
        style = {"✔": "green", "✘": "bold red", "▶": "bold"}.get(mark, "")
        text.append(f"{mark} {index + 1}. [{stage.name}] {step.title}", style=style)
        flags = []
        if step.irreversible:
            flags.append("⚠ POINT OF NO RETURN")
        if step.approval:
            flags.append(f"approval: {s.approved_by or step.approval + ' (p)'}")
        if s.verified_by:
            flags.append(f"verified by {s.verified_by}")
        if s.stop_point_passed:
            flags.append("stop point ✔ GREEN")
        if s.why:
            flags.append(s.why)
        if flags:
            text.append(
                "  " + " · ".join(flags), style="bold yellow" if step.irreversible else "dim"
            )
        text.append("\n")
        if upcoming is not None and upcoming[0] == index and s.status is StepStatus.PENDING:
            shell = f" (via /bin/sh -c{_quoted_note(state, index)})" if step.shell else ""
            text.append(f"   $ {' '.join(step.command)}{shell}\n", style="bold")
            if step.irreversible and step.irreversible_policy:
                text.append(f"   if it fails: {step.irreversible_policy}\n", style="yellow")
    return text


def _quoted_note(state: State, index: int) -> str:
    """``"; each ${var:} value quoted as one word"`` when the profile's shell text of step
    ``index`` had references (the resolved command shows the quotes; this says why)."""
    if state.profile is None:
        return ""
    return f"; {QUOTED_NOTE}" if has_references(state.profile.steps()[index][1].command) else ""


# ---------------------------------------------------------------- monitor pane


TITLE_WIDTH = 24
"""A metric's title is shown in full up to this many characters (docs/PROFILE.md)."""


def metric_row(
    metric: Metric, state: State, now: float, width: int, past: Past | None = None
) -> Text:
    """One metric on one line: state, title, sparkline, value, threshold, age.

    The title and the sparkline share what is left of ``width`` after the fixed columns;
    ``past`` is drawn as the sparkline's history instead of the state's (see
    :func:`history_spark`).
    """
    history = state.metrics[metric.id].history
    last = history[-1] if history else None
    row = status_text(last.status if last else None)
    row.pad_right(max(0, 8 - len(row)))
    value = f"{value_text(last.value if last else None, metric.unit):>10} "
    threshold = f"{metric.threshold.describe(metric.unit):<9} "
    age = age_text(last, now, metric.staleness)
    # The age's column (at least 3 wide) and the space before it, after the sparkline.
    room = width - len(row) - len(value) - len(threshold) - max(3, len(age)) - 1
    # The title first (at least 16 characters when there is room), then the sparkline.
    title_width = max(8, min(TITLE_WIDTH, max(16, room - 14), room - 1))
    spark_width = max(0, room - title_width - 1)  # the sparkline takes the width there is
    title = inert(metric.title)  # before it is cut to fit: ^[ takes two columns
    row.append(f"{title[:title_width]:<{title_width}} ")
    if spark_width >= 6:
        row.append_text(history_spark(metric, state, spark_width, past))
        row.append(" ")
    row.append(value, style="bold")
    row.append(threshold, style="dim")
    row.append_text(age)
    return row


def monitor_task(state: State, profile: Profile, *, brief: bool = False) -> Text:
    """What the Monitor must verify next, in full (the resolved command).

    ``brief`` (a short terminal) leaves out the reminder that carries no instruction.
    """
    if state.phase is Phase.BRIEFING:
        text = styled("MONITOR, READ BACK the rollback triggers, then press t:\n", "bold")
        for trigger in profile.briefing.contingency.triggers:
            text.append(f"  ▸ {trigger}\n")
        return text
    upcoming = state.next_step()
    if state.phase is Phase.EXECUTING and upcoming is not None and state.window is None:
        index = upcoming[0]
        step = profile.steps()[index][1]  # resolved: the command that will really run
        s = state.steps[index]
        if s.status is StepStatus.PENDING and s.verified_by is None:
            text = Text(
                f"MONITOR, VERIFY the command of step {index + 1}, then press v:\n", style="bold"
            )
            shell = "/bin/sh -c " if step.shell else ""
            text.append(f"  $ {shell}{' '.join(step.command)}\n")
            if step.shell and _quoted_note(state, index):
                text.append(f"  ({QUOTED_NOTE})\n", style="dim")
            if step.stop_point:
                ids = step.stop_point
                # One line even for many metrics: the Monitor's task must stay in view.
                shown = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
                text.append(f"  then GREEN before the next step: {shown}\n")
            return text
    if brief:
        return Text("")
    if state.window is not None or state.running_step() is not None:
        return styled("MONITOR: watch the metrics; R rolls back at once.", "bold")
    return Text("")


WINDOW_NAMES = {
    "health": "HEALTH WINDOW",
    "incident": "SINCE T0",
    "stabilization": "STABILIZATION WINDOW",
}
"""What each kind of window is called on screen (a stop point names its step)."""


def stop_point(state: State, now: float, *, detailed: bool = True) -> Text:
    """The verdict of the open stop point or health window, per metric and overall."""
    window = state.window
    if window is None or state.profile is None:
        return Text("")
    verdict = state.window_verdict(now)
    assert verdict is not None
    label, style = VERDICT_TEXT[verdict]
    where = WINDOW_NAMES.get(window.kind) or f"STOP POINT after {window.step_id}"
    text = styled(f"{where}: ", "bold")
    text.append(label, style=style)
    if window.accepted_by:
        text.append(f" (accepted by {window.accepted_by})")
    if not detailed:
        return text
    for metric_id, (v, why) in state.window_verdicts(now).items():
        mlabel, mstyle = VERDICT_TEXT[v]
        text.append("\n  ")
        text.append(mlabel, style=mstyle)
        text.append(" " * max(1, 15 - len(mlabel)))
        text.append(f" {state.profile.metric(metric_id).title}: {why}")
    return text


def baseline_against(state: State) -> str:
    """What the rollback is verified against, in a few words."""
    if not state.is_incident:
        return "the GO baseline"
    incident = state.incident
    if incident is not None and incident.baseline is not None and not state.baseline:
        return "the thresholds (no history from before the incident)"
    red = incident.red_since if incident is not None else None
    if red is not None and incident is not None and (incident.baseline or {}).get("at") == red:
        return f"the baseline from before the incident (RED since {utc_time(red)})"
    return "the baseline from before the incident"


def verification(state: State, *, detailed: bool = True) -> RenderableType:
    """Per verified metric: back or not, now, and the rule it must meet (its threshold and
    its baseline's bounds, or the threshold alone where there is no baseline)."""
    rb = state.rollback
    if rb is None or state.profile is None:
        return Text("")
    text = styled(f"ROLLBACK VERIFICATION against {baseline_against(state)}\n", "bold")
    if detailed:
        text.append(verification_rule(state.profile) + "\n", style="dim")
    for metric_id, entry in comparison(state, rb.counters).items():
        metric = state.profile.metric(metric_id)
        if entry["back"]:
            text.append("✔ BACK     ", style="bold green")
        elif rb.verdict is not None:
            text.append("✘ NOT BACK ", style="bold red")
        else:
            text.append("… WAITING  ", style="bold yellow")
        text.append(f"{metric.title} · now {value_text(entry['now'], entry['unit'])}")
        base, allowed = entry["baseline"], entry["tolerance"]
        needs = metric.threshold.describe(metric.unit)
        if base is not None and allowed is not None:
            needs += f" and {bound_short(metric, base, allowed)}"
        else:
            needs += " (threshold)"
        text.append(f" · needs {needs}\n", style="dim")
        if detailed and base is None:
            text.append(f"           {_threshold_reason(state, metric_id)}\n", style="dim")
    return text


def _threshold_reason(state: State, metric_id: str) -> str:
    """Why a metric is verified against its threshold alone, as the baseline recorded it."""
    incident = state.incident
    recorded = ((incident.baseline or {}).get("metrics") or {}) if incident else {}
    why = (recorded.get(metric_id) or {}).get("why")
    if isinstance(why, str) and why:
        return why
    return "verified against the threshold (no baseline)"


def utc_time(wall: float) -> str:
    """``05:12:40`` in UTC."""
    return dt.datetime.fromtimestamp(wall, tz=dt.UTC).strftime("%H:%M:%S")


def banner(state: State) -> tuple[Text, str]:
    """The full-width banner and its CSS class: rollback, verdict, or advice to roll back."""
    rb = state.rollback
    if rb is None:
        if state.advisory is not None and not state.phase.finished:
            # The reason's figures are from when it was advised; the panels below count on.
            when = state.t_plus(state.advised_at) if state.advised_at is not None else None
            at = f" at T+{format_clock(when)}" if when is not None else ""
            return Text(f"⚠ ROLLBACK ADVISED{at} — press R\n{state.advisory}"), "-advised"
        if state.phase is Phase.INCIDENT:
            return Text("⚠ INCIDENT DECLARED — R rolls back now"), "-advised"
        return Text(""), ""
    if state.phase is Phase.ROLLED_BACK:
        return Text("✔ ROLLED BACK — VERIFIED"), "-verified"
    if state.phase is Phase.MITIGATED:
        return Text("✔ INCIDENT MITIGATED — ROLLED BACK — VERIFIED"), "-verified"
    if state.phase is Phase.STABILIZING:
        return Text(
            "✔ ROLLED BACK — VERIFIED · STABILIZING: the metrics must stay GREEN"
        ), "-verified"
    if state.phase is Phase.NOT_VERIFIED:
        why = "; ".join(rb.differences) or "see the record"
        head = "✘ INCIDENT NOT MITIGATED — " if state.is_incident else "✘ "
        return Text(f"{head}ROLLED BACK — NOT VERIFIED: {why}"), "-failed"
    how = f"AUTOMATIC: {rb.reason}" if rb.automatic else f"{rb.reason} ({rb.by})"
    head = (
        "⟲ ROLLING BACK NOW"
        if state.phase is Phase.ROLLING_BACK
        else "⟲ ROLLING BACK NOW — VERIFYING"
    )
    return Text(f"{head}\n{how}"), "-rollback"


def journal_failed(why: str, decisions: list[str], events: int, samples: int) -> str:
    """The notice once the journal failed: why, what still works, and what is not on record
    (the ``decisions`` in words, newest last, out of ``events`` events, and ``samples``)."""
    text = f"✘ JOURNAL FAILED: {why}. No new steps; R still rolls back."
    if not events and not samples:
        return text
    shown = decisions[-3:]
    others = events - len(shown)
    parts = [*shown, *([f"{others} more events"] if others else [])]
    if samples:
        parts.append(f"{samples} metric samples")
    return f"{text} NOT RECORDED: {'; '.join(parts)} (all listed when you quit)."


def next_text(nxt: Next, *, where: str = "") -> Text:
    """The 'whose turn' line (``where``: in whose terminal, when the crew acts by identity)."""
    who = {"operator": "OPERATOR", "monitor": "MONITOR", "approver": "APPROVER"}.get(nxt.role, "")
    text = styled("NEXT ▸ ", "bold")
    if who:
        text.append(f"{who} ", style="bold reverse")
        text.append(" ")
    text.append(nxt.text)
    if where:
        text.append(f" · {inert(where)}", style="dim")
    return text


def whose_terminal(state: State, nxt: Next, by_identity: bool) -> str:
    """In whose terminal the next action happens, when the crew acts by identity."""
    if not by_identity or state.profile is None or state.profile.crew is None:
        return ""
    crew = state.profile.crew
    if nxt.role != "monitor" or crew.monitor is None:
        return ""
    joined = any(w.startswith(f"{crew.monitor} (monitor)") for w in state.attached.values())
    if joined:
        return f"in {crew.monitor}'s terminal"
    return f"waiting for {crew.monitor} to join (cockpit attach)"


def key_bar(
    keys: list[str], beside_r: list[str] | None = None, *, seat: str | None = None
) -> KeyRow:
    """The keys that work now, each with who presses it. ``beside_r``: the titles of RED
    checks guarding the rollback, said next to R (they never block it); ``seat``: this
    terminal's role when the crew acts by identity."""
    entries: list[Text] = []
    if seat is not None:
        entries.append(Text.assemble((f" {seat.upper()} ", "bold reverse"), " "))
    for key in keys:
        role, what = KEYS[key]
        style = "bold white on red" if key == "R" else "bold reverse"
        prefix = {"monitor": "Mon: ", "operator": "Op: ", "approver": "Appr: "}.get(role, "")
        short = "ROLL BACK NOW" if key == "R" else what.split(" (")[0]
        entries.append(Text.assemble((f" {key} ", style), f" {prefix}{short}  "))
        if key == "R" and beside_r:
            more = f" +{len(beside_r) - 1}" if len(beside_r) > 1 else ""
            title = beside_r[0] if len(beside_r[0]) <= 40 else beside_r[0][:39] + "…"
            entries.append(Text.assemble((f"(⚠ RED: {title}{more})", "bold yellow"), "  "))
    return KeyRow(entries)


class KeyRow:
    """Entries (a key and what it does) side by side, a line broken only between two of
    them: a key is never left at the end of a line with its words on the next one."""

    def __init__(self, entries: list[Text]) -> None:
        self.entries = entries

    @property
    def plain(self) -> str:
        return "".join(entry.plain for entry in self.entries)

    def __str__(self) -> str:
        return self.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        line = Text()
        for entry in self.entries:
            used = line.cell_len
            if used and used + cell_len(entry.plain.rstrip(" ")) > width:
                line.rstrip()
                yield line
                line = Text()
            line.append_text(entry)
        line.rstrip()
        yield line


def watching_bar(state: State | None = None) -> KeyRow:
    """The key bar of a terminal that only watches (``cockpit watch``), with who holds the
    deploy lock while it is held."""
    entries = [
        Text.assemble(
            (" WATCHING ", "bold reverse"),
            " read-only: act in the cockpit that runs the session   ",
        ),
        Text.assemble((" q ", "bold reverse"), " stop watching  "),
    ]
    lock = state.lock if state is not None else None
    if lock is not None and lock.held and not lock.kept:
        since = dt.datetime.fromtimestamp(lock.since, tz=dt.UTC).strftime("%H:%M")
        entries.append(Text(f" locked by {inert(lock.holder)} since {since} UTC", style="dim"))
    return KeyRow(entries)


class Paths:
    """Files the person may want to open, one per line after its label (``record:``). A
    path too long for the line breaks after a ``/`` and goes on under its own start, never
    in the middle of a name."""

    def __init__(self, entries: list[tuple[str, str]]) -> None:
        self.entries = entries

    @property
    def plain(self) -> str:
        return "\n".join(f"{label} {path}" for label, path in self.entries)

    def __str__(self) -> str:
        return self.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        room = max((len(label) for label, _ in self.entries), default=0) + 1
        for label, path in self.entries:
            head = f"{label:<{room}}"
            for part in path_parts(path, max(8, width - room)):
                yield Text(head + part)
                head = " " * room


def path_parts(path: str, width: int) -> list[str]:
    """``path`` in pieces of at most ``width`` characters, each ending at a ``/`` where one
    allows it (a name longer than the line is cut as it must be)."""
    parts: list[str] = []
    rest = path
    while len(rest) > width:
        cut = rest.rfind("/", 0, width) + 1
        if cut <= 0:
            cut = width
        parts.append(rest[:cut])
        rest = rest[cut:]
    parts.append(rest)
    return parts


HANG_MARKS = frozenset("$•▸·✔✘▶?")
"""A mark that starts a line (after its indent): the line's wrapped rest goes under the text
after it, not under the mark."""


class Hanging:
    """A text whose long lines wrap under their own start, not back to the left edge: a
    command under a step, a trigger after its mark, at whatever width the pane has.

    Each line's indent is its leading spaces, and a mark from :data:`HANG_MARKS` with its
    space after them.
    """

    def __init__(self, text: Text) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for line in self.text.split("\n", allow_blank=True):
            indent = hang_indent(line.plain)
            if line.cell_len <= width or indent > width // 2:
                yield line
                continue
            head, rest = line.divide([indent])
            for n, part in enumerate(rest.wrap(console, width - indent)):
                out = head.copy() if n == 0 else Text(" " * indent)
                out.append_text(part)
                out.end = "\n"
                yield out


def hang_indent(line: str) -> int:
    """Where the wrapped rest of ``line`` starts: after its leading spaces and mark."""
    indent = len(line) - len(line.lstrip(" "))
    if line[indent : indent + 1] in HANG_MARKS and line[indent + 1 : indent + 2] == " ":
        indent += 2
    return indent


def shown(renderable: RenderableType) -> RenderableType:
    """What a widget may put on the terminal: text (profile strings, details, reasons, all
    of it) made inert, keeping its styles on the characters they covered. Newlines stay:
    they lay out, they do not command the terminal. A string becomes a ``Text``, so that a
    ``[`` in it is never read as markup either."""
    if isinstance(renderable, str):
        return Text(inert(renderable, multiline=True))
    if isinstance(renderable, Text):
        return inert_text(renderable)
    if isinstance(renderable, Hanging):
        return Hanging(inert_text(renderable.text))
    if isinstance(renderable, KeyRow):
        return KeyRow([inert_text(entry) for entry in renderable.entries])
    if isinstance(renderable, Paths):
        return Paths([(inert(label), inert(path)) for label, path in renderable.entries])
    return renderable


def inert_text(text: Text) -> Text:
    """:func:`cockpit.inert.inert` for a Rich ``Text``, spans moved with their characters."""
    if is_inert(text.plain, multiline=True):
        return text
    if "\t" in text.plain:
        text = text.copy()
        text.expand_tabs(TAB_SIZE)
    moved: list[int] = []  # the new index of each old one, and of the end
    parts: list[str] = []
    length = 0
    for char in text.plain:
        moved.append(length)
        part = inert(char, multiline=True)
        parts.append(part)
        length += len(part)
    moved.append(length)
    result = text.blank_copy("".join(parts))
    result.spans = [Span(moved[s.start], moved[s.end], s.style) for s in text.spans]
    return result


def text_key(renderable: RenderableType) -> object:
    """A cheap identity of what a renderable shows, to skip redrawing unchanged widgets."""
    if isinstance(renderable, Text):
        return (renderable.plain, tuple((s.start, s.end, str(s.style)) for s in renderable.spans))
    if isinstance(renderable, str):
        return renderable
    if isinstance(renderable, Hanging):
        return ("hanging", text_key(renderable.text))
    if isinstance(renderable, KeyRow):
        return ("keys", tuple(text_key(entry) for entry in renderable.entries))
    if isinstance(renderable, Paths):
        return ("paths", tuple(renderable.entries))
    return object()  # tables and groups: always redraw (they change rarely)
