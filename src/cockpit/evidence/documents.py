"""The evidence files besides the report: checklist, manifest, approvals, validation, health log."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from cockpit.durations import format_clock, format_duration
from cockpit.engine.kinds import Kind
from cockpit.evidence import markdown as md
from cockpit.evidence.model import JudgedWindow, MetricSummary, SessionRecord, iso, who
from cockpit.evidence.report import confirmations, outcome, verification_table
from cockpit.inert import json_text
from cockpit.journal import Record
from cockpit.sample import Status


def _header(session: SessionRecord, title: str) -> str:
    path = f" {md.code(session.journal_path)}" if session.journal_path else ""
    return (
        f"# {title}: {session.profile.deployment.name}\n\n"
        f"Derived from the session journal{path} ({session.record_count} records,"
        f" last hash {md.code(session.last_hash[:16])}…). Outcome: **{outcome(session)}**."
    )


def _first(session: SessionRecord, kind: str, **match: Any) -> Record | None:
    for record in session.of_kind(kind):
        if all(record.body.get(k) == v for k, v in match.items()):
            return record
    return None


def _by(session: SessionRecord, record: Record | None) -> tuple[str, str]:
    if record is None:
        return "—", "—"
    return who(record.actor), session.at(record)


# ---------------------------------------------------------------- readiness checklist


def readiness_checklist(session: SessionRecord) -> str:
    """Every readiness check's last result, the readback, the GO call, NO-GOs and holds."""
    state = session.state
    profile = session.profile
    runs = Counter(str(r.body["sample"]["id"]) for r in session.of_kind(Kind.CHECK_RESULT))
    rows = []
    for check in profile.checks:
        cs = state.checks.get(check.id)
        name = f"{check.title} ({md.code(check.id)})"
        if check.manual is not None:
            confirmed = _first(session, Kind.CHECK_CONFIRMED, check=check.id)
            by, when = _by(session, confirmed)
            result = "✔ CONFIRMED" if confirmed else "✘ NOT CONFIRMED"
            rows.append(
                (name, result, "—", f"{check.manual.prompt} Confirmed by {by}", when, "manual")
            )
            continue
        sample = cs.sample if cs is not None else None
        if sample is None:
            rows.append((name, "✘ NOT MEASURED", "—", "no result was recorded", "—", "0"))
            continue
        threshold = f" (needs {check.threshold.describe(sample.unit)})" if check.threshold else ""
        rows.append(
            (
                name,
                f"{sample.status.symbol} {sample.status.value}",
                md.value(sample.value, sample.unit),
                sample.detail + threshold,
                iso(sample.measured_at),
                str(runs[check.id]),
            )
        )
    parts = [
        _header(session, "Readiness checklist"),
        "## Readiness checks (last result before execution)\n\n"
        + md.table(["Check", "Result", "Value", "Detail", "When (UTC)", "Runs"], rows),
    ]
    readback = _first(session, Kind.READBACK_CONFIRMED)
    if readback is None:
        parts.append("## Readback of the rollback triggers\n\n✘ The triggers were never read back.")
    else:
        triggers = "\n".join(f"  - {t}" for t in readback.body.get("triggers", []))
        parts.append(
            "## Readback of the rollback triggers\n\n"
            f"✔ Read back by {who(readback.actor)} at {session.at(readback)}:\n\n{triggers}"
        )
    gos = [(str(r.body.get("role")), who(r.actor), session.at(r)) for r in session.of_kind(Kind.GO)]
    t0 = "T0 " + iso(state.t0) if state.t0 is not None else "no T0: execution never started"
    parts.append(
        "## The GO call\n\n"
        + (md.table(["Role", "Who", "When"], gos) if gos else "No GO was given.")
        + f"\n\n{t0}."
    )
    stops = [
        (
            session.at(r),
            who(r.actor),
            "NO-GO" if r.kind == Kind.NOGO else ("HOLD" if r.kind == Kind.HOLD else "resume"),
            r.body.get("reason") or "",
        )
        for r in session.of_kind(Kind.NOGO, Kind.HOLD, Kind.RESUME)
        if r.t_plus is None
    ]
    parts.append(
        "## NO-GOs and holds before execution\n\n"
        + (md.table(["When", "Who", "Call", "Reason"], stops) if stops else "None.")
    )
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- release manifest


def release_manifest(session: SessionRecord) -> dict[str, Any]:
    """What was released, from where, by whom: a JSON object."""
    state = session.state
    profile = session.profile
    d = profile.deployment
    body = session.started_body
    steps = []
    for index, (stage, step) in enumerate(profile.steps()):
        starting = _first(session, Kind.STEP_STARTING, step=step.id)
        s = state.steps[index]
        steps.append(
            {
                "id": step.id,
                "title": step.title,
                "stage": stage.name,
                "environment": stage.environment,
                "command": list(starting.body["command"]) if starting else list(step.command),
                "shell": step.shell,
                "approval": step.approval,
                "irreversible": step.irreversible,
                "irreversible_policy": step.irreversible_policy,
                "stop_point": list(step.stop_point),
                "status": s.status.value,
                "exit_code": s.exit_code,
                "output": s.output,
                "started": None if s.started is None else iso(s.started),
                "finished": None if s.finished is None else iso(s.finished),
            }
        )
    return {
        "format": "cockpit-release-manifest/1",
        "deployment": d.name,
        "service": d.service,
        "owner": d.owner,
        "artifact": {"name": d.artifact.name, "digest": d.artifact.digest, "tag": d.artifact.tag},
        "profile": {"path": state.profile_path, "sha256": state.profile_sha256},
        "environments": list(d.environments),
        "steps": steps,
        "rollback": {
            "commands": [list(c) for c in profile.rollback.commands],
            "started": state.rollback is not None,
            "automatic": None if state.rollback is None else state.rollback.automatic,
            "verdict": None if state.rollback is None else state.rollback.verdict,
        },
        "crew": {
            "operator": state.crew.get("operator"),
            "monitor": state.crew.get("monitor"),
            "approvers": list(state.approvers),
        },
        "host": body.get("host") or None,
        "os_user": body.get("os_user") or None,
        "session": {
            "started": None if state.started is None else iso(state.started),
            "t0": None if state.t0 is None else iso(state.t0),
            "finished": None if state.finished is None else iso(state.finished),
            "outcome": outcome(session),
        },
        "journal": {
            "path": session.journal_path,
            "records": session.record_count,
            "last_hash": session.last_hash,
        },
    }


def release_manifest_json(session: SessionRecord) -> str:
    """The manifest as indented JSON text."""
    return json_text(release_manifest(session), indent=2) + "\n"


# ---------------------------------------------------------------- approval record


def _typed(record: Record | None) -> str:
    """What was typed to confirm an action, when its record keeps it."""
    if record is None or "typed" not in record.body:
        return ""
    return f" (typed {md.code(str(record.body['typed']))})"


def approval_record(session: SessionRecord) -> str:
    """Two-person rule evidence: verifications, approvals, points of no return, GOs."""
    profile = session.profile
    state = session.state
    rule = "on" if profile.roles.two_person_rule else "OFF"
    if profile.crew is not None:
        rule += (
            ", SINGLE OPERATOR: one OS user may act as both roles"
            if profile.crew.single_operator
            else ", held by identity: one OS user cannot act as both roles"
        )
    parts = [
        _header(session, "Approval record"),
        f"Two-person rule: **{rule}**. Operator {state.crew.get('operator')}, Monitor"
        f" {state.crew.get('monitor')}; approvers: {', '.join(state.approvers) or 'none named'}.",
        f"Type to confirm: **{confirmations(session)}**.",
    ]
    verified, approved, acknowledged = [], [], []
    for index, (_, step) in enumerate(profile.steps()):
        name = f"{index + 1}. {md.code(step.id)}"
        record = _first(session, Kind.STEP_VERIFIED, step=step.id)
        by, when = _by(session, record)
        command = record.body.get("command") if record else None  # as the Monitor saw it
        verified.append((name, md.command(command or step.command), by, when))
        if step.approval is not None:
            record = _first(session, Kind.STEP_APPROVED, step=step.id)
            by, when = _by(session, record)
            by = by + _typed(record) if record else "✘ not approved"
            approved.append((name, step.approval, by, when))
        if step.irreversible:
            record = _first(session, Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED, step=step.id)
            by, when = _by(session, record)
            policy = step.irreversible_policy or ""
            by = by + _typed(record) if record else "✘ not acknowledged"
            acknowledged.append((name, policy, by, when))
    parts.append(
        "## Commands verified by the Monitor before they ran\n\n"
        + md.table(["Step", "Command", "Verified by", "When"], verified)
    )
    parts.append(
        "## Approvals of gated steps\n\n"
        + (
            md.table(["Step", "Gate (role)", "Approved by", "When"], approved)
            if approved
            else "No step has an approval gate."
        )
    )
    parts.append(
        "## Points of no return\n\n"
        + (
            md.table(["Step", "Policy", "Acknowledged by", "When"], acknowledged)
            if acknowledged
            else "No step is marked irreversible."
        )
    )
    readback = _first(session, Kind.READBACK_CONFIRMED)
    gos = [
        (f"GO ({r.body.get('role')})", who(r.actor), session.at(r))
        for r in session.of_kind(Kind.GO)
    ]
    by, when = _by(session, readback)
    calls = [("Readback of the triggers", by + _typed(readback), when), *gos]
    calls += [
        (f"Accepted INCONCLUSIVE stop point: {r.body.get('reason')}", who(r.actor), session.at(r))
        for r in session.of_kind(Kind.STOP_POINT_ACCEPTED)
    ]
    manual = [r for r in session.of_kind(Kind.ROLLBACK_STARTED) if not r.body.get("automatic")]
    calls += [
        (f"ROLL BACK NOW: {r.body.get('reason')}", who(r.actor), session.at(r)) for r in manual
    ]
    parts.append("## Other attributed calls\n\n" + md.table(["Call", "Who", "When"], calls))
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- post-deployment validation


def _summary_rows(session: SessionRecord, window: JudgedWindow) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for metric_id in window.metrics:
        summary = window.samples[metric_id]
        unit = session.metric_unit(metric_id)
        last = summary.last
        threshold = session.profile.metric(metric_id).threshold.describe(unit)
        rows.append(
            (
                f"{session.metric_title(metric_id)} ({md.code(metric_id)})",
                threshold,
                str(summary.count),
                _by_status(summary) or "—",
                "—" if summary.low is None else md.value(summary.low, unit),
                "—" if summary.high is None else md.value(summary.high, unit),
                "—" if last is None else f"{last.status.symbol} {md.value(last.value, unit)}",
            )
        )
    return rows


def _by_status(summary: MetricSummary) -> str:
    counts = summary.statuses
    return " ".join(f"{st.value} {counts[st]}" for st in Status if counts[st])


_SUMMARY_HEADER = ["Metric", "Threshold", "Samples", "By status", "Min", "Max", "Last"]


def post_deployment_validation(session: SessionRecord) -> str:
    """Stop-point verdicts per step and the health window's result, with sample counts."""
    profile = session.profile
    windows = session.windows
    parts = [_header(session, "Post-deployment validation")]
    rows = []
    for index, (_, step) in enumerate(profile.steps()):
        s = session.state.steps[index]
        window = next((w for w in windows if w.step_id == step.id), None)
        if window is not None:
            verdict, when = window.verdict, session.at(window.closed or window.opened)
        elif s.finished is not None:
            verdict, when = f"✘ step failed: {s.why}", session.when(s.finished)
        else:
            verdict, when = "— not reached", "—"
        metrics = ", ".join(step.stop_point) or "none"
        rows.append((f"{index + 1}. {md.code(step.id)}", metrics, verdict, when))
    parts.append(
        "## Stop points\n\n" + md.table(["Step", "Stop-point metrics", "Verdict", "When"], rows)
    )
    for window in windows:
        if window.step_id is None:
            continue
        step = next(st for _, st in profile.steps() if st.id == window.step_id)
        if not step.stop_point:
            continue
        parts.append(
            f"### Stop point after {md.code(window.step_id)}: from {session.at(window.opened)}"
            f" to {session.at(window.closed) if window.closed else 'the end of the journal'}\n\n"
            + md.table(_SUMMARY_HEADER, _summary_rows(session, window))
        )
    health = next((w for w in windows if w.step_id is None), None)
    duration = format_duration(profile.health.duration)
    if health is None:
        parts.append(f"## Health window ({duration})\n\n— Not reached.")
    else:
        transitions = [
            f"- {session.at(r)}: "
            + ("not GREEN" if r.kind == Kind.WINDOW_NOT_GREEN else "GREEN again")
            for r in session.of_kind(Kind.WINDOW_NOT_GREEN, Kind.WINDOW_GREEN)
            if r.seq > health.opened.seq
        ]
        parts.append(
            f"## Health window ({duration})\n\n"
            f"Started {session.at(health.opened)}. Result: **{health.verdict}**"
            + (f" at {session.at(health.closed)}" if health.closed else "")
            + ".\n\n"
            + ("\n".join(transitions) + "\n\n" if transitions else "")
            + md.table(_SUMMARY_HEADER, _summary_rows(session, health))
        )
    if session.state.rollback is not None:
        parts.append("## Rollback verification\n\n" + verification_table(session))
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- health log


HEALTH_LOG_HEADER = (
    "minute_utc",
    "t_plus",
    "metric",
    "samples",
    "pass",
    "fail",
    "inconclusive",
    "error",
    "min",
    "max",
    "last_status",
    "last_value",
    "unit",
    "last_detail",
    "first_not_pass_utc",
)


def health_log_csv(session: SessionRecord) -> str:
    """Every metric's samples, one CSV row per metric and minute of measurement, oldest first.

    A row per sample grew with the session: 154 MB for a day of 16 metrics (more rows than
    a spreadsheet opens). A row per minute is 1,440 rows a day per metric (about 2.6 MB for
    16 metrics at 1 Hz) and keeps what a review looks for: how many samples, how many failed,
    the range, the last value and when the first one that was not PASS was measured. Every
    sample stays in the journal.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEALTH_LOG_HEADER)
    order = {metric.id: index for index, metric in enumerate(session.profile.metrics)}
    keys = sorted(session.minutes, key=lambda key: (key[0], order.get(key[1], len(order)), key[1]))
    for minute, metric_id in keys:
        summary = session.minutes[minute, metric_id]
        last = summary.last
        assert last is not None
        t_plus = session.t_plus(minute)
        counts = summary.statuses
        writer.writerow(
            (
                iso(minute),
                "" if t_plus is None else f"T+{format_clock(t_plus)}",
                metric_id,
                summary.count,
                *(counts[status] for status in Status),
                "" if summary.low is None else str(summary.low),
                "" if summary.high is None else str(summary.high),
                last.status.value,
                "" if last.value is None else str(last.value),
                last.unit,
                last.detail,
                "" if summary.first_not_pass is None else iso(summary.first_not_pass, millis=True),
            )
        )
    return out.getvalue()
