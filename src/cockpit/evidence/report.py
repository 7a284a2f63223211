"""DEPLOYMENT-REPORT.md: the human summary of a session, from its journal alone."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cockpit.announce import baseline_summary, baseline_words, before_the_monitor
from cockpit.durations import format_clock, format_duration
from cockpit.engine import Phase
from cockpit.engine.confirm import confirmations_off
from cockpit.engine.kinds import Kind
from cockpit.engine.verdict import verification_rule
from cockpit.evidence import markdown as md
from cockpit.evidence.model import SessionRecord, compact, iso, load_session, who
from cockpit.journal import Record
from cockpit.sample import Status

# What a refused intent was, in words (the journal records the intent's class name).
INTENT_WORDS = {
    "StartSession": "start the session",
    "ConfirmReadback": "read back the rollback triggers",
    "ConfirmManualCheck": "confirm a readiness check",
    "Go": "GO",
    "NoGo": "NO-GO",
    "VerifyStep": "verify a step's command",
    "ApproveStep": "approve a step",
    "AcknowledgeIrreversible": "acknowledge a point of no return",
    "RunStep": "run a step",
    "Hold": "HOLD",
    "Resume": "resume",
    "RollBackNow": "ROLL BACK NOW",
    "AcceptInconclusive": "accept an INCONCLUSIVE stop point",
    "Abort": "abort",
}


def outcome(session: SessionRecord) -> str:
    """The one-line outcome: COMPLETE, ROLLED BACK — VERIFIED / NOT VERIFIED, ABORTED."""
    state = session.state
    if state.phase is Phase.NOT_VERIFIED:
        differences = state.rollback.differences if state.rollback else []
        return "ROLLED BACK — NOT VERIFIED" + (
            f" (differences: {'; '.join(differences)})" if differences else ""
        )
    if state.phase is Phase.ABORTED:
        return f"ABORTED ({state.aborted_reason})"
    if state.phase.finished:
        return state.phase.value
    return f"NOT FINISHED — the journal ends in {state.phase.value}"


def _step_ref(session: SessionRecord, step_id: str) -> str:
    number = session.step_number(step_id)
    return f"step {number} {md.code(step_id)}" if number else f"step {md.code(step_id)}"


def _output_of(session: SessionRecord, body: dict[str, Any]) -> str:
    try:
        output = session.state.step_state(str(body["step"])).output
    except KeyError:
        return ""
    return f", output {md.code(output)}" if output else ""


def _typed(body: dict[str, Any]) -> str:
    """What was typed to confirm, as the record keeps it (type to confirm)."""
    if "typed" not in body:
        return ""
    return f"; typed {md.code(str(body['typed']))} to: {body.get('question', '')}"


def confirmations(session: SessionRecord) -> str:
    """Which actions asked for a typed word, and which the profile turned off."""
    off = confirmations_off(session.profile)
    if not off:
        return "on (readback, production approvals, points of no return)"
    return "OFF for " + "; ".join(off) + " (one key instead)"


def _exit(body: dict[str, Any]) -> str:
    duration = body.get("duration")
    took = f" in {duration:.1f} s" if isinstance(duration, int | float) and duration else ""
    if body.get("ok"):
        return f"OK (exit {body.get('exit_code')}){took}"
    return f"FAILED: {body.get('why') or 'unknown'}{took}"


def _baseline(session: SessionRecord, baseline: dict[str, Any]) -> str:
    if not baseline:
        return "no baseline"
    return "baseline " + ", ".join(
        f"{m} {md.value(float(v), session.metric_unit(m))}" for m, v in baseline.items()
    )


def describe(session: SessionRecord, record: Record) -> str | None:
    """One record as a timeline line, or None for records the timeline leaves out."""
    b = dict(record.body)
    kind = record.kind
    if kind in (Kind.SAMPLES, Kind.SAMPLE, Kind.CHECK_RESULT):
        return None  # in the health log and the readiness checklist
    if kind == Kind.SESSION_STARTED:
        return (
            f"Session started: {session.profile.deployment.name}; Operator {b.get('operator')},"
            f" Monitor {b.get('monitor')}"
        )
    if kind == Kind.READBACK_CONFIRMED:
        return f"Rollback triggers read back ({len(b.get('triggers', []))} triggers)" + _typed(b)
    if kind == Kind.CHECK_CONFIRMED:
        check = str(b.get("check"))
        title = next((c.title for c in session.profile.checks if c.id == check), check)
        return f"Readiness check confirmed: {title}"
    if kind == Kind.GO:
        return f"GO ({b.get('role')})"
    if kind == Kind.NOGO:
        return f"NO-GO: {b.get('reason')} (deploy on HOLD)"
    if kind == Kind.EXECUTION_STARTED:
        return f"**T0: execution started** ({_baseline(session, dict(b.get('baseline', {})))})"
    if kind == Kind.HOLD:
        return f"HOLD: {b.get('reason')}"
    if kind == Kind.RESUME:
        held = b.get("held_for")
        return "Resumed" + (f" after {format_clock(float(held))}" if held is not None else "")
    if kind == Kind.STEP_VERIFIED:
        return (
            f"Command of {_step_ref(session, str(b.get('step')))} verified:"
            f" {md.command(b.get('command', []))}"
        )
    if kind == Kind.STEP_APPROVED:
        return f"{_step_ref(session, str(b.get('step'))).capitalize()} approved" + _typed(b)
    if kind == Kind.STEP_IRREVERSIBLE_ACKNOWLEDGED:
        policy = b.get("policy")
        return (
            f"POINT OF NO RETURN acknowledged: {_step_ref(session, str(b.get('step')))}"
            + (f" ({policy})" if policy else "")
            + _typed(b)
        )
    if kind == Kind.STEP_STARTING:
        step = str(b.get("step"))
        return (
            f"{_step_ref(session, step).capitalize()} started: {session.step_title(step)}:"
            f" {md.command(b.get('command', []))}"
        )
    if kind == Kind.PROCESS_STARTED:
        where = f"pid {b.get('pid')}, output {md.code(str(b.get('output')))}"
        where += FOUND_ON_RESUME.get(str(b.get("found", "")), "")
        if b.get("purpose") == "rollback":
            return f"Rollback command {int(b.get('ref', 0)) + 1} process started: {where}"
        return f"Process of {_step_ref(session, str(b.get('ref')))} started: {where}"
    if kind == Kind.STEP_FINISHED:
        return (
            f"{_step_ref(session, str(b.get('step'))).capitalize()} finished: {_exit(b)}"
            + _output_of(session, b)
        )
    if kind == Kind.STOP_POINT_PASSED:
        return f"Stop point after {_step_ref(session, str(b.get('step')))} passed ({b.get('how')})"
    if kind == Kind.STOP_POINT_ACCEPTED:
        return f"INCONCLUSIVE stop point accepted: {b.get('reason')}"
    if kind == Kind.HEALTH_STARTED:
        duration = b.get("duration")
        span = f" ({format_duration(float(duration))})" if duration is not None else ""
        return f"Health window started{span}"
    if kind == Kind.WINDOW_NOT_GREEN:
        return f"Health window not GREEN ({b.get('verdict')}): contingency countdown started"
    if kind == Kind.WINDOW_GREEN:
        return "Health window GREEN again"
    if kind == Kind.ROLLBACK_ADVISED:
        return f"**ROLLBACK ADVISED**: {b.get('reason')}"
    if kind == Kind.ROLLBACK_STARTED:
        how = "automatic" if b.get("automatic") else f"by {who(record.actor)}"
        return f"**ROLLING BACK NOW** ({how}): {b.get('reason')}{before_the_monitor(b)}"
    if kind == Kind.ROLLBACK_COMMAND_FINISHED:
        return f"Rollback command {int(b.get('index', 0)) + 1} finished: {_exit(b)}"
    if kind == Kind.ROLLBACK_SNAPSHOT:
        return f"Snapshot taken: {len(b.get('metrics', {}))} metrics, last output lines"
    if kind == Kind.ROLLBACK_VERIFYING:
        return f"Rollback commands done: verifying against {baseline_words(session.state)}"
    if kind == Kind.ROLLBACK_VERIFIED:
        return "**ROLLED BACK — VERIFIED**: every verified metric is back at its baseline"
    if kind == Kind.ROLLBACK_NOT_VERIFIED:
        differences = "; ".join(str(d) for d in b.get("differences", []))
        return "**ROLLED BACK — NOT VERIFIED**" + (f": {differences}" if differences else "")
    if kind == Kind.SESSION_COMPLETE:
        return "**COMPLETE**: health window GREEN to the end"
    if kind == Kind.SESSION_ABORTED:
        return f"**ABORTED**: {b.get('reason')}"
    if kind == Kind.REFUSED:
        return f"Refused: {_intent(b)}: {b.get('reason')}"
    if kind == Kind.NOTE:
        return f"Note: {b['text']}" if isinstance(b.get("text"), str) else f"Note: {compact(b)}"
    return _cockpit_itself(session, kind, b)


def _cockpit_itself(session: SessionRecord, kind: str, b: dict[str, Any]) -> str:
    """Records about the cockpit rather than the deploy: resumes and its own loops."""
    if kind == Kind.METRIC_HISTORY:
        return _history_line(session, b)
    if kind == Kind.INCIDENT_DECLARED:
        return "**T0: INCIDENT DECLARED** (the rollback is one key away from here)"
    if kind == Kind.BASELINE_TAKEN:
        return "Baseline taken " + baseline_summary(b, session.state)
    if kind == Kind.ROLLBACK_PLAN_VERIFIED:
        return f"Rollback commands verified by the Monitor: {_commands(b.get('commands', []))}"
    if kind == Kind.STABILIZATION_STARTED:
        duration = b.get("duration")
        span = f" ({format_duration(float(duration))})" if duration is not None else ""
        return f"Stabilization window started{span}"
    if kind == Kind.INCIDENT_MITIGATED:
        return "**INCIDENT MITIGATED — ROLLED BACK — VERIFIED**: stable to the end of the window"
    if kind == Kind.SESSION_RESUMED:
        where = f" on {b['host']}" if b.get("host") else ""
        tty = f" ({b['tty']})" if b.get("tty") else ""
        return f"Session resumed by a new cockpit{where}{tty}, run by {b.get('os_user')}"
    if kind == Kind.STEP_NOT_STARTED:
        return (
            f"{_step_ref(session, str(b.get('step'))).capitalize()} was recorded as starting but"
            " never started (the cockpit stopped first): marked as not run"
        )
    if kind == Kind.LOOP_FAILED:
        return (
            f"The cockpit's {b.get('loop')} loop failed a pass: {b.get('error')}"
            f" (affects {b.get('duty')})"
        )
    if kind == Kind.LOOP_STOPPED:
        return (
            f"**The cockpit's {b.get('loop')} loop STOPPED**: {b.get('error')};"
            f" not running: {b.get('duty')}"
        )
    if kind == Kind.LOOP_RECOVERED:
        return f"The cockpit's {b.get('loop')} loop works again"
    return _lock(kind, b) or _attach(kind, b) or f"{kind}: {compact(b)}"  # a newer journal's


def _attach(kind: str, b: dict[str, Any]) -> str | None:
    """Records of the crew's own terminals (``cockpit attach``)."""
    who_it_is = f"{b.get('user')} (uid {b.get('uid')})"
    where = f" on {b['tty']}" if b.get("tty") else ""
    if kind == Kind.ATTACH_JOINED:
        return f"{who_it_is} joined as {str(b.get('role')).capitalize()}{where}"
    if kind == Kind.ATTACH_LEFT:
        return f"{who_it_is} left ({b.get('role')}{where})"
    if kind == Kind.ATTACH_REFUSED:
        return f"**{who_it_is} was refused**{where}, pid {b.get('pid')}: {b.get('why')}"
    return None


def _lock(kind: str, b: dict[str, Any]) -> str | None:
    """Records of the deploy lock."""
    locks = ", ".join(md.code(str(k)) for k in b.get("locks", [])) or "the service"
    if kind == Kind.LOCK_TAKEN:
        holder = dict(b.get("holder") or {})
        who_holds = f"{holder.get('user')}@{holder.get('host')}, pid {holder.get('pid')}"
        over = b.get("taken_over") or []
        taken = (
            f"; taken over from a session that was gone ({'; '.join(map(str, over))})"
            if over
            else ""
        )
        again = "taken again" if b.get("again") else "taken"
        return f"Deploy lock on {locks} {again} ({who_holds}; {b.get('store')}){taken}"
    if kind == Kind.LOCK_LOST:
        return f"**LOCK LOST**: {b.get('reason')}; no new step until it is held again"
    if kind == Kind.LOCK_KEPT:
        return f"Deploy lock kept: {b.get('text')}; released only by `cockpit unlock`"
    if kind == Kind.LOCK_RELEASED:
        return f"Deploy lock released by {b.get('by')}: {b.get('reason')}"
    return None


def _history_line(session: SessionRecord, b: dict[str, Any]) -> str:
    metric = str(b.get("metric"))
    name = f"{session.metric_title(metric)} ({md.code(metric)})"
    if b.get("error"):
        return f"History of {name}: none: {b['error']}"
    points = b.get("points", [])
    start, end = b.get("start"), b.get("end")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return f"History of {name} read: {len(points)} points"
    span = f"{session.when(float(start))} to {session.when(float(end))}"
    return f"History of {name} read: {len(points)} points from {span}"


def _commands(commands: Any) -> str:
    if not isinstance(commands, list):
        return "?"
    return "; ".join(md.command(c) for c in commands if isinstance(c, list)) or "?"


FOUND_ON_RESUME = {
    "not started": " (recorded but never started: started on resume)",
    "running": " (started unrecorded before a crash; found running on resume)",
    "ended": " (started unrecorded before a crash; found ended on resume)",
}


def _intent(body: dict[str, Any]) -> str:
    name = str(body.get("intent", "?"))
    return INTENT_WORDS.get(name, name)


def timeline(session: SessionRecord) -> str:
    """Every decision record with its time, who and what, in journal order."""
    crew = session.profile.crew
    single = crew is not None and crew.single_operator
    rows = []
    for record in session.decisions:
        text = describe(session, record)
        if text is not None:
            if single and record.actor.role in ("operator", "monitor"):
                text += " — SINGLE OPERATOR: one OS user may act in both roles"
            rows.append((str(record.seq), session.at(record), who(record.actor), text))
    return md.table(["#", "Time", "Who", "Event"], rows)


def refusals(session: SessionRecord) -> str:
    """Who tried what and why the cockpit refused it."""
    rows = [
        (session.at(r), who(r.actor), _intent(dict(r.body)), r.body.get("reason", ""))
        for r in session.of_kind(Kind.REFUSED)
    ]
    if not rows:
        return "None: nothing was refused."
    return md.table(["Time", "Who", "Tried", "Why it was refused"], rows)


def verification_table(session: SessionRecord) -> str:
    """Baseline, now and tolerance per verified metric, as the verdict recorded them."""
    verdicts = session.of_kind(Kind.ROLLBACK_VERIFIED, Kind.ROLLBACK_NOT_VERIFIED)
    recorded = dict(verdicts[-1].body.get("comparison") or {}) if verdicts else {}
    if not recorded:
        # A rollback command failed before verification began: no comparison was recorded,
        # so show what the replayed state knew.
        from cockpit.engine import comparison

        rb = session.state.rollback
        recorded = comparison(session.state, rb.counters) if rb is not None else {}
    rows = []
    incident = session.state.incident
    taken = dict((incident.baseline or {}).get("metrics") or {}) if incident else {}
    for metric_id, entry in recorded.items():
        unit = str(entry.get("unit") or session.metric_unit(metric_id))
        tol = entry.get("tolerance")
        base = md.value(entry.get("baseline"), unit)
        if entry.get("baseline") is None:
            why = dict(taken.get(metric_id) or {}).get("why")
            base = str(why or "verified against the threshold (no baseline)")
        rows.append(
            (
                f"{session.metric_title(metric_id)} ({md.code(metric_id)})",
                base,
                md.value(entry.get("now"), unit),
                "—" if tol is None else f"± {md.value(float(tol), unit)}",
                "✔ back" if entry.get("back") else "✘ not back",
            )
        )
    if not rows:
        return "No verification was recorded."
    when = "before the incident" if incident is not None else "at GO"
    return md.table(["Metric", f"Baseline ({when})", "Now", "Tolerance", "Result"], rows)


def snapshot(session: SessionRecord) -> str:
    """The metrics and output the cockpit captured when the rollback began."""
    records = session.of_kind(Kind.ROLLBACK_SNAPSHOT)
    if not records:
        return "No snapshot was recorded."
    record = records[-1]
    parts = [f"Taken at {session.at(record)}."]
    rows = []
    for metric_id, data in dict(record.body.get("metrics", {})).items():
        status = Status(str(data.get("status", "ERROR")))
        at = data.get("at")
        rows.append(
            (
                md.code(metric_id),
                f"{status.symbol} {status.value}",
                md.value(data.get("value"), str(data.get("unit", ""))),
                session.when(float(at)) if isinstance(at, int | float) else "—",
                data.get("detail", ""),
            )
        )
    if rows:
        parts.append(md.table(["Metric", "Status", "Value", "Measured", "Detail"], rows))
    output = [str(line) for line in record.body.get("output", [])]
    if output:
        parts.append("Last lines of the step's output:\n\n" + md.block(output))
    return "\n\n".join(parts)


def rollback_section(session: SessionRecord) -> str:
    """Why and how the rollback ran, its commands, its verification and its snapshot."""
    rb = session.state.rollback
    if rb is None:
        return "No rollback."
    started = session.of_kind(Kind.ROLLBACK_STARTED)[-1]
    how = "automatically by the cockpit" if rb.automatic else f"by {who(started.actor)}"
    lines = [
        f"- **Started** at {session.at(started)} {how}.",
        f"- **Reason**: {rb.reason}",
        "- **Commands**:",
    ]
    finished = {
        int(r.body.get("index", -1)): r for r in session.of_kind(Kind.ROLLBACK_COMMAND_FINISHED)
    }
    for index, argv in enumerate(session.profile.rollback.commands):
        done = finished.get(index)
        command = rb.commands[index] if index < len(rb.commands) else None
        result = "not run" if done is None else _exit(dict(done.body))
        output = f", output {md.code(command.output)}" if command and command.output else ""
        lines.append(f"  {index + 1}. {md.command(argv)}: {result}{output}")
    verdicts = session.of_kind(Kind.ROLLBACK_VERIFIED, Kind.ROLLBACK_NOT_VERIFIED)
    verdict = f"**{rb.verdict}** at {session.at(verdicts[-1])}" if verdicts else "not reached"
    within = format_duration(session.profile.rollback.verify.within)
    against = (
        "the baseline from before the incident"
        if session.state.is_incident
        else "the baseline taken at GO"
    )
    lines.append(f"- **Verification** against {against} (within {within}): {verdict}")
    lines.append(f"- **Rule**: {verification_rule(session.profile)}")
    for difference in rb.differences:
        lines.append(f"  - {difference}")
    return "\n\n".join(
        [
            "\n".join(lines),
            "### Verification\n\n" + verification_table(session),
            "### Snapshot at rollback\n\n" + snapshot(session),
        ]
    )


def summary(session: SessionRecord) -> str:
    """Who, what, where and when, as a two-column table."""
    d = session.profile.deployment
    body = session.started_body
    artifact = d.artifact.name + "".join(
        f" {label} {md.code(v)}"
        for label, v in (("tag", d.artifact.tag), ("digest", d.artifact.digest))
        if v
    )
    state = session.state
    ended = "—"
    if state.finished is not None:
        ended = iso(state.finished) + (
            f" (T+{format_clock(state.finished - state.t0)})" if state.t0 is not None else ""
        )
    rows = [
        ("Deployment", d.name),
        ("Service", f"{d.service} (owner {d.owner})"),
        ("Artifact", artifact),
        ("Environments", ", ".join(d.environments)),
        ("Operator", state.crew.get("operator", "")),
        ("Monitor", state.crew.get("monitor", "")),
        ("Approvers", ", ".join(state.approvers)),
        ("Type to confirm", confirmations(session)),
        ("Host / OS user", f"{body.get('host') or '?'} / {body.get('os_user') or '?'}"),
        ("Profile", f"{md.code(state.profile_path)} sha256 {md.code(state.profile_sha256)}"),
        ("Session started", iso(state.started) if state.started is not None else "—"),
        ("T0", iso(state.t0) if state.t0 is not None else "never: nothing was executed"),
        ("Ended", ended),
    ]
    return md.table(["", ""], rows)


def journal_section(session: SessionRecord) -> str:
    """The journal this report was derived from, so the two can be tied together."""
    path = md.code(session.journal_path) if session.journal_path else "(not given)"
    return "\n".join(
        [
            f"- Journal: {path}",
            f"- Records: {session.record_count} (hash chain verified when this report was made)",
            f"- Last record hash: {md.code(session.last_hash)}",
            "- Check it any time with `cockpit verify JOURNAL`.",
        ]
    )


def render_report(session: SessionRecord, evidence_files: Sequence[str] = ()) -> str:
    """The whole DEPLOYMENT-REPORT.md (for an incident session: the incident report)."""
    if session.state.is_incident:
        from cockpit.evidence.incident import render_incident_report  # it builds on this one

        return render_incident_report(session, evidence_files)
    parts = [
        f"# Deployment report: {session.profile.deployment.name}",
        f"**Outcome: {outcome(session)}**",
        summary(session),
        "## Briefing\n\n" + briefing(session),
        "## Rollback\n\n" + rollback_section(session),
        "## Timeline\n\n"
        + "Times are T+mm:ss after T0, ISO-8601 UTC before it. Samples are in the health log.\n\n"
        + timeline(session),
        "## Refusals\n\n" + refusals(session),
    ]
    if evidence_files:
        parts.append("## Evidence files\n\n" + "\n".join(f"- {md.code(f)}" for f in evidence_files))
    parts.append("## Journal\n\n" + journal_section(session))
    return "\n\n".join(parts) + "\n"


def briefing(session: SessionRecord) -> str:
    """AIM-C as it was recorded."""
    b = session.profile.briefing
    lines = [
        f"- **Aim**: {b.aim}",
        f"- **Intent**: {b.intent}",
        "- **Mishaps**: " + "; ".join(b.mishaps),
        f"- **Rollback triggers** (rule time {format_clock(b.contingency.trigger_time)}): "
        + "; ".join(b.contingency.triggers),
        f"- **Alternate plan**: {b.contingency.alternate}",
    ]
    return "\n".join(lines)


def report_markdown(records: Iterable[Record], *, journal_path: str | None = None) -> str:
    """DEPLOYMENT-REPORT.md for verified records (pure: no I/O, no clock).

    Raises:
        NotASession: the records are empty, not a session, or do not replay.
    """
    return render_report(load_session(records, journal_path))
