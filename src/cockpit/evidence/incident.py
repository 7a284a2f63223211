"""The incident report: DEPLOYMENT-REPORT.md of an incident session, for the post-mortem.

From the journal alone: the timeline from the first RED sample in the metrics' history,
through the declaration (T0), the Monitor's readback and verification, R, the rollback's
commands and their exit codes and the verification, to the mitigation, every time as T±;
who did what; each metric's history as a text sparkline with the baseline window and the
first RED sample marked, the live samples after the bar; the journal's final hash.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from cockpit.announce import baseline_summary
from cockpit.durations import format_clock
from cockpit.engine import Phase
from cockpit.engine.baseline import red_stretches
from cockpit.engine.kinds import Kind
from cockpit.evidence import markdown as md
from cockpit.evidence.model import SessionRecord, iso, who
from cockpit.evidence.report import describe, journal_section, outcome, refusals, rollback_section
from cockpit.profile.models import Metric
from cockpit.sparkline import buckets, data_start, sparkline

HISTORY_CELLS = 60
"""Columns of a metric's history in the report's sparkline."""
LIVE_CELLS = 30
"""Columns of the samples the cockpit took itself, after the bar."""


def short(value: float, unit: str) -> str:
    """A number to three significant digits, with its unit."""
    return f"{value:.3g}{' ' + unit if unit else ''}"


def t_relative(session: SessionRecord, wall: float) -> str:
    """``T-07:20`` before T0, ``T+00:12`` after it (T0 is the declaration)."""
    t0 = session.t0
    if t0 is None:
        return iso(wall)
    delta = wall - t0
    return ("T-" if delta < 0 else "T+") + format_clock(abs(delta))


def utc(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, tz=dt.UTC).strftime("%H:%M:%S")


def first_red(session: SessionRecord) -> tuple[float, Metric, float] | None:
    """The first RED sample in the history: when, which metric, its value."""
    found: tuple[float, Metric, float] | None = None
    for metric in session.profile.metrics:
        past = session.state.metrics[metric.id].past
        if past is None or not past.points:
            continue
        for stretch in red_stretches(metric, past.points):
            value = next(v for t, v in past.points if t == stretch.start and v is not None)
            if found is None or stretch.start < found[0]:
                found = (stretch.start, metric, value)
            break
    return found


def summary(session: SessionRecord) -> str:
    """Service, crew, T0 and the moments that matter, as a two-column table."""
    d = session.profile.deployment
    state = session.state
    body = session.started_body
    incident = state.incident
    rows: list[tuple[str, str]] = [
        ("Service", f"{d.service} (owner {d.owner}), {', '.join(d.environments)}"),
        ("Profile", f"{md.code(state.profile_path)} sha256 {md.code(state.profile_sha256)}"),
        ("Operator", state.crew.get("operator", "")),
        ("Monitor", state.crew.get("monitor", "")),
        ("Host / OS user", f"{body.get('host') or '?'} / {body.get('os_user') or '?'}"),
    ]
    red = first_red(session)
    if red is not None:
        at, metric, value = red
        shown = md.value(value, metric.unit)
        rows.append(
            ("First RED sample", f"{iso(at)} ({t_relative(session, at)}): {metric.title} {shown}")
        )
    if incident is not None:
        rows.append(("Incident declared (T0)", f"{iso(incident.declared)} by {incident.by}"))
        taken = incident.baseline
        rows.append(
            ("Baseline", baseline_summary(taken, state) if taken else "not taken (no history read)")
        )
    rb = state.rollback
    if rb is not None:
        how = "automatically (trigger time)" if rb.automatic else f"by {rb.by}"
        rows.append(("R", f"{t_relative(session, rb.started)} {how}"))
    if state.finished is not None:
        rows.append(("Ended", f"{iso(state.finished)} ({t_relative(session, state.finished)})"))
    return md.table(["", ""], rows)


def timeline(session: SessionRecord) -> str:
    """From the first RED sample in history to the end, every time as T±."""
    rows: list[tuple[str, str, str, str]] = []
    red = first_red(session)
    if red is not None:
        at, metric, value = red
        rows.append(
            (
                "history",
                t_relative(session, at),
                "Prometheus",
                f"**First RED sample**: {metric.title} {md.value(value, metric.unit)}"
                f" (needs {metric.threshold.describe(metric.unit)})",
            )
        )
    for record in session.decisions:
        text = describe(session, record)
        if text is None or record.kind == Kind.METRIC_HISTORY:
            continue
        rows.append((str(record.seq), t_relative(session, record.wall), who(record.actor), text))
    return md.table(["#", "Time", "Who", "Event"], rows)


WHO_DID: dict[str, str] = {
    Kind.READBACK_CONFIRMED: "read the rollback triggers back",
    Kind.ROLLBACK_PLAN_VERIFIED: "verified the rollback commands",
    Kind.CHECK_CONFIRMED: "confirmed a check",
    Kind.ROLLBACK_STARTED: "pressed R (ROLLING BACK NOW)",
    Kind.HOLD: "held",
    Kind.RESUME: "resumed",
    Kind.INCIDENT_DECLARED: "declared the incident (opened the cockpit)",
}


def who_did_what(session: SessionRecord) -> str:
    """Each person (and the cockpit) with what they did and when."""
    done: dict[str, list[str]] = defaultdict(list)
    for record in session.decisions:
        what = WHO_DID.get(record.kind)
        if record.kind == Kind.ROLLBACK_STARTED and record.body.get("automatic"):
            what = "rolled back by itself (the trigger-time rule)"
        if what is None:
            continue
        if record.kind == Kind.ROLLBACK_STARTED and record.body.get("before"):
            what += " before the Monitor's " + " and ".join(map(str, record.body["before"]))
        done[who(record.actor)].append(f"{what} at {t_relative(session, record.wall)}")
    if not done:
        return "Nobody acted."
    return "\n".join(f"- **{person}**: {'; '.join(acts)}" for person, acts in done.items())


def metric_history(session: SessionRecord, metric: Metric) -> list[str]:
    """One metric: its history before the cockpit opened and the samples after, one scale,
    with the baseline window (``b``) and the first RED sample (``^``) marked below."""
    state = session.state
    past = state.metrics[metric.id].past
    live = session.live.get(metric.id)  # the samples the cockpit took, folded as read
    head = f"{metric.title} ({metric.id}), needs {metric.threshold.describe(metric.unit)}"
    incident = state.incident
    entry = ((incident.baseline or {}).get("metrics") or {}).get(metric.id) if incident else None
    if isinstance(entry, dict):
        value = entry.get("value")
        if isinstance(value, int | float):
            head += f"; baseline {short(float(value), metric.unit)} ({entry.get('why')})"
        else:
            head += f"; {entry.get('why')}"
    if past is None or not past.points:
        why = "no history (not read)" if past is None else (past.error or "no history")
        lines = [head, why if why.startswith("no history") else f"no history: {why}"]
        if live is not None:
            span = live.buckets(LIVE_CELLS)
            lines.append("live: " + sparkline(span, len(span)))
        return lines
    start = data_start(past.start, past.points)
    history = buckets(past.points, start, past.end, HISTORY_CELLS)
    recent = live.buckets(LIVE_CELLS) if live is not None else []
    numbers = [v for v in (*history, *recent) if v is not None]
    scale = (min(numbers), max(numbers)) if numbers else None
    left = f"{utc(start)} "
    line = (
        left + sparkline(history, len(history), scale) + "│" + sparkline(recent, len(recent), scale)
    )
    if live is not None and live.last is not None:
        line += f" {utc(live.last)}"
    marks = [" "] * HISTORY_CELLS

    def column(wall: float) -> int:
        return int((wall - start) / max(past.end - start, 1e-9) * HISTORY_CELLS)

    at = (incident.baseline or {}).get("at") if incident else None
    if isinstance(at, int | float):
        window = session.profile.history.baseline_window
        for col in range(column(at - window), column(at)):
            if 0 <= col < HISTORY_CELLS:
                marks[col] = "b"
    stretches = red_stretches(metric, past.points)
    if stretches and 0 <= column(stretches[0].start) < HISTORY_CELLS:
        marks[column(stretches[0].start)] = "^"
    low, high = scale if scale else (0.0, 0.0)
    return [
        head,
        line,
        " " * len(left) + "".join(marks).rstrip(),
        f"scale {short(low, metric.unit)} to {short(high, metric.unit)}",
    ]


def histories(session: SessionRecord) -> str:
    """Every metric's history, the baseline marked."""
    parts = [
        "Each line: the history read when the cockpit opened (from its first point), a bar, "
        "then the samples the cockpit took, on one scale. Below it, `b` marks the baseline "
        "window and `^` the first RED sample."
    ]
    for metric in session.profile.metrics:
        parts.append(md.block(metric_history(session, metric)))
    return "\n\n".join(parts)


def render_incident_report(session: SessionRecord, evidence_files: Sequence[str] = ()) -> str:
    """DEPLOYMENT-REPORT.md of an incident session."""
    d = session.profile.deployment
    parts = [
        f"# Incident report: {d.service} ({d.name})",
        f"**Outcome: {incident_outcome(session)}**",
        summary(session),
        "## Timeline\n\n"
        "From the first RED sample in the history; times are T± the declaration (T0).\n\n"
        + timeline(session),
        "## Who did what\n\n" + who_did_what(session),
        "## Metrics before and after\n\n" + histories(session),
        "## Rollback\n\n" + rollback_section(session),
        "## Refusals\n\n" + refusals(session),
    ]
    if evidence_files:
        parts.append("## Evidence files\n\n" + "\n".join(f"- {md.code(f)}" for f in evidence_files))
    parts.append("## Journal\n\n" + journal_section(session))
    return "\n\n".join(parts) + "\n"


def incident_outcome(session: SessionRecord) -> str:
    """The outcome in the words the screen used."""
    if session.state.phase is Phase.NOT_VERIFIED:
        return "INCIDENT NOT MITIGATED — " + outcome(session)
    return outcome(session)
