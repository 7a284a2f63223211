"""Evidence from journals of whole sessions, written the way the session writes them."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cockpit.engine import (
    Event,
    Phase,
    Refusal,
    State,
    apply,
    apply_record,
    decide,
    events_from_records,
    replay,
)
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.engine.kinds import HIGH_RATE_KINDS
from cockpit.evidence import EVIDENCE_FILES, NotASession, report_markdown, write_evidence
from cockpit.evidence.model import load_session
from cockpit.journal import Actor, Batcher, Journal, JournalDamaged, JournalUnreadable, read_journal
from cockpit.profile import load_profile
from cockpit.sample import Sample, Status

ROOT = Path(__file__).resolve().parents[2]
DEMO = load_profile(ROOT / "profiles" / "demo.toml")
T = 1_800_000_000.0  # 2027-01-15T08:00:00Z
T0 = T + 60
OPERATOR = Actor("operator", "ada", "pts/1")
MONITOR = Actor("monitor", "grace", "pts/2")
GOOD = {"error-rate": 0.4, "p99": 120.0, "ready": 5.0, "throughput": 40.0}
UNITS = {"error-rate": "%", "p99": "ms", "ready": "ms", "throughput": "req/s"}


@dataclass
class Recorder:
    """Drives the engine with intents and journals every event as ``Session._record`` does."""

    journal: Journal
    state: State = field(default_factory=State)
    now: float = T
    profile: dict[str, Any] = field(default_factory=lambda: DEMO.model_dump(mode="json"))
    batcher: Batcher = field(init=False)

    def __post_init__(self) -> None:
        self.batcher = Batcher(self.journal, "samples", actor=SYSTEM)

    def flush(self) -> None:
        if len(self.batcher):
            self.batcher.flush(wall=self.now, t_plus=self.state.t_plus(self.now))

    def do(self, intent: i.Intent) -> list[Event]:
        try:
            events = decide(self.state, intent)
        except Refusal as refusal:
            self.flush()
            self.journal.append(
                "refused",
                {"intent": type(intent).__name__, "reason": refusal.reason},
                actor=intent.actor,
                wall=intent.wall,
                t_plus=self.state.t_plus(intent.wall),
            )
            raise
        for event in events:
            if event.kind in HIGH_RATE_KINDS:
                self.batcher.add(str(event.body["id"]), {"wall": event.wall, **event.body})
                continue
            self.flush()
            t_plus = 0.0 if event.kind == "execution.started" else self.state.t_plus(event.wall)
            self.journal.append(
                event.kind, event.body, actor=event.actor, wall=event.wall, t_plus=t_plus
            )
        for event in events:
            apply(self.state, event)
        return events

    def refused(self, intent: i.Intent) -> None:
        with pytest.raises(Refusal):
            self.do(intent)

    def at(self, seconds_after_t: float) -> float:
        self.now = T + seconds_after_t
        return self.now

    def second(self, seconds_after_t: float, **bad: float) -> None:
        """One second of metric samples (a bad value FAILs), then a clock tick."""
        now = self.at(seconds_after_t)
        for metric_id, good in GOOD.items():
            value = bad.get(metric_id, good)
            status = Status.FAIL if metric_id in bad else Status.PASS
            detail = f"{value:g} {UNITS[metric_id]}"
            sample = Sample(metric_id, status, value, UNITS[metric_id], now, detail)
            self.do(i.RecordSample(SYSTEM, now, sample))
        self.do(i.Tick(SYSTEM, now))

    def to_execution(self) -> None:
        self.do(
            i.StartSession(
                OPERATOR,
                self.now,
                self.profile,
                "f" * 64,
                "/srv/profiles/demo.toml",
                "ada",
                "grace",
                os_user="deploy",
                host="bastion-1",
            )
        )
        self.refused(i.Go(OPERATOR, self.at(5)))  # before the readback
        self.do(i.ConfirmReadback(MONITOR, self.at(10), typed="5m"))
        assert self.state.profile is not None
        for check in self.state.profile.checks:
            if check.manual is not None:
                self.do(i.ConfirmManualCheck(OPERATOR, self.at(20), check.id))
            else:
                # The CPU check is RED once, then GREEN: the checklist keeps the last result.
                if check.id == "cpu":
                    red = Sample("cpu", Status.FAIL, 91.0, "%", self.at(15), "91% > 60%")
                    self.do(i.RecordCheck(SYSTEM, self.now, red))
                sample = Sample(check.id, Status.PASS, 12.0, "%", self.at(30), f"{check.id} ok")
                self.do(i.RecordCheck(SYSTEM, self.now, sample))
        for n in range(50, 56):
            self.second(n)
        self.do(i.Go(OPERATOR, self.at(56)))
        self.do(i.NoGo(MONITOR, self.at(57), "dashboard lagging"))
        self.do(i.Resume(MONITOR, self.at(58)))
        self.second(59)
        self.do(i.Go(OPERATOR, self.at(59.5)))
        self.do(i.Go(MONITOR, self.at(60)))
        assert self.state.t0 == T0

    def run_step(self, exit_code: int = 0) -> None:
        self.refused(i.RunStep(OPERATOR, self.at(62), "deploy-v2"))  # not verified yet
        self.do(i.VerifyStep(MONITOR, self.at(63), "deploy-v2", RESOLVED))
        self.do(i.RunStep(OPERATOR, self.at(65), "deploy-v2", RESOLVED))
        self.do(
            i.ProcessStarted(
                SYSTEM, self.now, "step", "deploy-v2", 4242, 4242, "/s/step-1-deploy-v2.out"
            )
        )
        self.do(i.ProcessExited(SYSTEM, self.at(80), "step", "deploy-v2", exit_code, duration=15.0))


RESOLVED = ("cockpit", "demo-ctl", "deploy", "v2", "--state", "/srv/demo-state")
"""The demo step's command with ${var:COCKPIT_DEMO_STATE} resolved, as the screens send it."""


def rolled_back_session(path: Path) -> Recorder:
    """A deploy whose error rate goes RED; held, then rolled back by the Monitor; verified."""
    with Journal.open(path) as journal:
        rec = Recorder(journal)
        rec.to_execution()
        rec.run_step()
        for n in range(81, 85):
            rec.second(n, **{"error-rate": 8.0})
        assert rec.state.advisory is not None
        rec.do(i.Hold(OPERATOR, rec.at(86), "checking the dashboards"))
        rec.refused(i.RunStep(OPERATOR, rec.at(87), "deploy-v2"))  # on HOLD
        rec.second(88, **{"error-rate": 8.5})
        rec.do(i.RollBackNow(MONITOR, rec.at(90), "error rate RED"))
        rec.do(i.ProcessStarted(SYSTEM, rec.now, "rollback", "0", 4300, 4300, "/s/rollback-1.out"))
        metrics = {m: ms.last.to_json() for m, ms in rec.state.metrics.items() if ms.last}
        rec.do(i.RecordSnapshot(SYSTEM, rec.at(91), metrics, ["switched to v2", "HTTP 500 x12"]))
        rec.do(i.ProcessExited(SYSTEM, rec.at(95), "rollback", "0", 0, duration=4.0))
        for n in range(96, 100):
            rec.second(n)
        assert rec.state.phase is Phase.ROLLED_BACK
        rec.flush()
        return rec


def complete_session(path: Path) -> Recorder:
    """A deploy that stays GREEN through its stop point and the health window."""
    with Journal.open(path) as journal:
        rec = Recorder(journal)
        rec.to_execution()
        rec.run_step()
        n = 81
        while not rec.state.phase.finished:
            rec.second(n)
            n += 1
            assert n < 200
        assert rec.state.phase is Phase.COMPLETE
        rec.flush()
        return rec


@pytest.fixture
def rolled_back(tmp_path: Path) -> tuple[Path, Recorder]:
    path = tmp_path / "sessions" / "20270115T080000Z-demo-web-abcd.jsonl"
    path.parent.mkdir()
    path.with_suffix("").mkdir()
    return path, rolled_back_session(path)


def section(text: str, title: str) -> str:
    """The body of a Markdown ``## title`` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    assert match, f"no section {title!r}"
    return match.group(1)


def timeline_rows(report: str) -> list[list[str]]:
    rows = [line for line in section(report, "Timeline").splitlines() if line.startswith("| ")]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows[1:]]


# ---------------------------------------------------------------- the rolled-back session


def test_report_of_a_rolled_back_session(rolled_back: tuple[Path, Recorder]) -> None:
    path, _ = rolled_back
    records = read_journal(path)
    report = report_markdown(records, journal_path=str(path))
    assert "**Outcome: ROLLED BACK — VERIFIED**" in report.splitlines()

    rows = timeline_rows(report)
    events = [row[3] for row in rows]

    def first(fragment: str) -> int:
        return next(n for n, text in enumerate(events) if fragment in text)

    order = [
        "Session started",
        "Refused: GO",
        "Rollback triggers read back",
        "GO (operator)",
        "NO-GO: dashboard lagging",
        "Resumed",
        "T0: execution started",
        "Command of step 1",
        "Step 1 `deploy-v2` started",
        "Process of step 1",
        "Step 1 `deploy-v2` finished: OK (exit 0) in 15.0 s",
        "ROLLBACK ADVISED",
        "HOLD: checking the dashboards",
        "ROLLING BACK NOW",
        "Rollback command 1 process started",
        "Snapshot taken",
        "Rollback command 1 finished: OK",
        "verifying against the GO baseline",
        "ROLLED BACK — VERIFIED",
    ]
    positions = [first(fragment) for fragment in order]
    assert positions == sorted(positions), list(zip(order, positions, strict=True))
    times = {events[p]: rows[p][1] for p in positions}
    when = [rows[first(fragment)][1] for fragment in order]
    assert when[0] == "2027-01-15T08:00:00Z"  # before T0: wall time
    assert when[order.index("T0: execution started")] == "T+00:00"
    assert when[order.index("Step 1 `deploy-v2` started")] == "T+00:05", times
    assert when[order.index("Step 1 `deploy-v2` finished: OK (exit 0) in 15.0 s")] == "T+00:20"
    assert when[order.index("ROLLING BACK NOW")] == "T+00:30"
    assert when[order.index("ROLLED BACK — VERIFIED")] == "T+00:38"  # third GREEN sample
    assert "output `/s/step-1-deploy-v2.out`" in events[first("finished: OK (exit 0)")]
    # Who started the rollback, and why.
    rollback_row = rows[first("ROLLING BACK NOW")]
    assert rollback_row[2] == "grace (monitor)"
    assert "(by grace (monitor)): error rate RED" in rollback_row[3]
    assert "HTTP 5xx rate 3 failed samples (limit 2)" in events[first("ROLLBACK ADVISED")]
    # Samples and repeated check results stay out of the timeline; every decision is in it.
    decisions = [r for r in records if r.kind not in ("samples", "check.result")]
    assert [row[0] for row in rows] == [str(r.seq) for r in decisions]

    rollback = section(report, "Rollback")
    assert "by grace (monitor)" in rollback
    assert "**Reason**: error rate RED" in rollback
    assert "`cockpit demo-ctl rollback --state '${var:COCKPIT_DEMO_STATE}'`: OK (exit 0)" in (
        rollback
    )
    # The verification table: baseline at GO, now, tolerance and result per verified metric.
    assert "| HTTP 5xx rate (`error-rate`) | 0.4 % | 0.4 % | ± 0.5 % | ✔ back |" in rollback, (
        rollback
    )
    assert "| p99 latency (`p99`) | 120 ms | 120 ms | ± 60 ms | ✔ back |" in rollback
    assert "| Readiness probe latency (`ready`) | 5 ms | 5 ms | ± 50 ms | ✔ back |" in rollback
    # The snapshot taken when the rollback began: the RED value and the output tail.
    assert "| `error-rate` | ✘ FAIL | 8.5 % | T+00:28 |" in rollback
    assert "HTTP 500 x12" in rollback

    refusals = section(report, "Refusals")
    assert "| 2027-01-15T08:00:05Z | ada (operator) | GO | no GO before the Monitor reads" in (
        refusals
    )
    assert "| T+00:02 | ada (operator) | run a step | the Monitor has not verified" in refusals
    assert (
        "| T+00:27 | ada (operator) | run a step | on HOLD (checking the dashboards); resume"
        in refusals
    )

    # Type to confirm: on, and the readback's answer as the Monitor typed it.
    assert "| Type to confirm | on (readback, production approvals, points of no return) |" in (
        report
    )
    readback = events[first("Rollback triggers read back")]
    assert "typed `5m` to: Close the loop" in readback

    journal = section(report, "Journal")
    assert f"`{path}`" in journal
    assert f"Records: {len(records)} " in journal
    assert f"`{records[-1].hash}`" in journal


def test_evidence_files_of_a_rolled_back_session(rolled_back: tuple[Path, Recorder]) -> None:
    path, rec = rolled_back
    written = write_evidence(path)
    session_dir = path.with_suffix("")
    assert [p.name for p in written] == list(EVIDENCE_FILES)
    assert all(p.parent == session_dir for p in written)
    assert sorted(os.listdir(session_dir)) == sorted(EVIDENCE_FILES)  # no temporary left
    records = read_journal(path)

    manifest = json.loads((session_dir / "release-manifest.json").read_text())
    assert manifest["deployment"] == "demo-web v2"
    assert manifest["service"] == "demo-web"
    assert manifest["artifact"] == {"name": "demo-web", "digest": None, "tag": "v2"}
    assert manifest["profile"] == {"path": "/srv/profiles/demo.toml", "sha256": "f" * 64}
    assert manifest["environments"] == ["production"]
    assert manifest["crew"] == {"operator": "ada", "monitor": "grace", "approvers": []}
    assert (manifest["host"], manifest["os_user"]) == ("bastion-1", "deploy")
    [step] = manifest["steps"]
    assert step["command"] == list(RESOLVED)  # as it ran, references resolved
    assert (step["status"], step["exit_code"]) == ("succeeded", 0)
    assert manifest["rollback"]["verdict"] == "VERIFIED"
    assert manifest["journal"]["records"] == len(records)
    assert manifest["journal"]["last_hash"] == records[-1].hash

    log = list(csv.reader(io.StringIO((session_dir / "health-log.csv").read_text())))
    samples = [
        s for r in records if r.kind == "samples" for items in r.body.values() for s in items
    ]
    assert log[0] == [
        "minute_utc", "t_plus", "metric", "samples", "pass", "fail", "inconclusive", "error",
        "min", "max", "last_status", "last_value", "unit", "last_detail", "first_not_pass_utc",
    ]  # fmt: skip
    rows = log[1:]
    # One row per metric and minute (16 seconds of 4 metrics over two minutes), every sample
    # counted once.
    assert len(rows) == 2 * 4
    assert sum(int(row[3]) for row in rows) == len(samples) == 4 * 16
    assert rows[0][:5] == ["2027-01-15T08:00:00Z", "", "error-rate", "7", "7"]  # before T0
    red = [row for row in rows if row[5] != "0"]
    assert red == [
        [
            "2027-01-15T08:01:00Z", "T+00:00", "error-rate", "9", "4", "5", "0", "0", "0.4",
            "8.5", "PASS", "0.4", "%", "0.4 %", "2027-01-15T08:01:21.000Z",
        ]
    ]  # fmt: skip
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)

    checklist = (session_dir / "readiness-checklist.md").read_text()
    assert "| CPU below 60% and stable (`cpu`) | ✔ PASS | 12 % |" in checklist
    assert "| 2 |" in checklist.split("(`cpu`)")[1].splitlines()[0]  # two runs: RED, then GREEN
    assert "✔ CONFIRMED" in checklist and "Confirmed by ada (operator)" in checklist
    assert "✔ Read back by grace (monitor) at 2027-01-15T08:00:10Z" in checklist
    assert "| operator | ada (operator) | 2027-01-15T08:00:56Z |" in checklist
    assert "| monitor | grace (monitor) | T+00:00 |" in checklist
    assert "| 2027-01-15T08:00:57Z | grace (monitor) | NO-GO | dashboard lagging |" in checklist

    approvals = (session_dir / "approval-record.md").read_text()
    assert "Two-person rule: **on**" in approvals
    # The command as the Monitor verified it, references resolved (the profile has ${var:...}).
    assert "--state /srv/demo-state" in approvals
    assert "${var:" not in approvals
    assert "| grace (monitor) | T+00:03 |" in approvals  # the Monitor verified the command
    assert "| ROLL BACK NOW: error rate RED | grace (monitor) | T+00:30 |" in approvals

    validation = (session_dir / "post-deployment-validation.md").read_text()
    assert "✘ NOT GREEN: stop point of deploy-v2 FAILED" in validation
    assert "## Health window (30s)\n\n— Not reached." in validation
    assert "| HTTP 5xx rate (`error-rate`) | < 2 % | 9 | FAIL 5 PASS 4 |" not in validation
    assert "| HTTP 5xx rate (`error-rate`) | < 2 % | 5 | FAIL 5 | 8 % | 8.5 % | ✘ 8.5 % |" in (
        validation
    )

    report = (session_dir / "DEPLOYMENT-REPORT.md").read_text()
    assert report == report_markdown(records, journal_path=str(path)).replace(
        "## Journal", "## Evidence files\n\n" + "\n".join(f"- `{f}`" for f in EVIDENCE_FILES)
        + "\n\n## Journal"
    )  # fmt: skip
    assert rec.state.rollback is not None


def test_report_of_a_complete_session(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    complete_session(path)
    out = tmp_path / "evidence" / "nested"
    write_evidence(path, out)
    report = (out / "DEPLOYMENT-REPORT.md").read_text()
    assert "**Outcome: COMPLETE**" in report
    assert "## Rollback\n\nNo rollback." in report
    events = [row[3] for row in timeline_rows(report)]
    assert "Stop point after step 1 `deploy-v2` passed (GREEN)" in events
    assert "Health window started (30s)" in events
    assert events[-1] == "**COMPLETE**: health window GREEN to the end"
    assert section(report, "Refusals").count("| ada (operator) |") == 2
    validation = (out / "post-deployment-validation.md").read_text()
    assert "| 1. `deploy-v2` | error-rate, p99, ready, throughput | ✔ PASSED (GREEN) |" in (
        validation
    )
    assert "Result: **✔ PASSED: GREEN to the end**" in validation
    manifest = json.loads((out / "release-manifest.json").read_text())
    assert manifest["session"]["outcome"] == "COMPLETE"
    assert manifest["rollback"]["started"] is False


@pytest.mark.parametrize("session_of", [rolled_back_session, complete_session])
def test_folding_records_equals_replaying_their_events(
    tmp_path: Path, session_of: Callable[[Path], Recorder]
) -> None:
    path = tmp_path / "s.jsonl"
    recorded = session_of(path).state
    records = read_journal(path)
    folded = State()
    for record in records:
        apply_record(folded, record)
    assert folded == replay(events_from_records(records)) == recorded


@pytest.mark.parametrize("session_of", [rolled_back_session, complete_session])
def test_window_samples_summed_as_read_equal_every_sample_filtered_by_time(
    tmp_path: Path, session_of: Callable[[Path], Recorder]
) -> None:
    path = tmp_path / "s.jsonl"
    session_of(path)
    records = read_journal(path)
    samples = [
        Sample.from_json(item)
        for r in records
        if r.kind == "samples"
        for items in r.body.values()
        for item in items
    ]
    session = load_session(iter(records))
    assert session.windows
    for window in session.windows:
        end = window.closed.wall if window.closed else float("inf")
        for metric_id in window.metrics:
            inside = [
                s
                for s in samples
                if s.id == metric_id and window.opened.wall <= s.measured_at <= end
            ]
            summary = window.samples[metric_id]
            assert summary.count == len(inside) > 0
            assert summary.statuses == Counter(s.status for s in inside)
            values = [s.value for s in inside if s.value is not None]
            assert (summary.low, summary.high) == (min(values), max(values))
            assert summary.last == inside[-1]
    assert sum(m.count for m in session.minutes.values()) == len(samples)


def test_aborted_and_not_verified_outcomes(tmp_path: Path) -> None:
    aborted = tmp_path / "a.jsonl"
    with Journal.open(aborted) as journal:
        rec = Recorder(journal)
        rec.do(i.StartSession(OPERATOR, T, DEMO.model_dump(mode="json"), "0", "p", "ada", "grace"))
        rec.do(i.Abort(OPERATOR, rec.at(5), "dependency missing"))
    report = report_markdown(read_journal(aborted))
    assert "**Outcome: ABORTED (dependency missing)**" in report
    assert "T0 | never: nothing was executed" in report

    failed = tmp_path / "f.jsonl"
    with Journal.open(failed) as journal:
        rec = Recorder(journal)
        rec.to_execution()
        rec.run_step()
        rec.do(i.RollBackNow(OPERATOR, rec.at(82), "looks wrong"))
        rec.do(i.ProcessExited(SYSTEM, rec.at(84), "rollback", "0", 3, duration=2.0))
        rec.flush()
    report = report_markdown(read_journal(failed))
    assert (
        "**Outcome: ROLLED BACK — NOT VERIFIED (differences: rollback command 1 failed:"
        " exit status 3)**" in report
    )
    assert "| ✘ not back |" in section(report, "Rollback")


# ---------------------------------------------------------------- refusing bad journals


def flip_byte(path: Path, seq: int) -> None:
    """Change one letter inside record ``seq`` (its JSON stays valid; its hash does not)."""
    lines = path.read_bytes().split(b"\n")
    line = lines[seq - 1]
    at = line.index(b'"kind":"') + len(b'"kind":"')
    lines[seq - 1] = line[:at] + bytes([line[at] ^ 0x20]) + line[at + 1 :]
    path.write_bytes(b"\n".join(lines))


def test_damaged_journal_is_refused_and_nothing_is_written(
    rolled_back: tuple[Path, Recorder], tmp_path: Path
) -> None:
    path, _ = rolled_back
    flip_byte(path, 7)
    out = tmp_path / "out"
    with pytest.raises(JournalDamaged) as caught:
        write_evidence(path, out)
    assert caught.value.seq == 7
    assert "record 7" in str(caught.value)
    assert not out.exists()
    assert os.listdir(path.with_suffix("")) == []


def test_not_a_session_is_unreadable(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(JournalUnreadable, match="empty"):
        write_evidence(empty, tmp_path / "out")
    other = tmp_path / "other.jsonl"
    with Journal.open(other) as journal:
        journal.append("hello", {"n": 1}, actor=OPERATOR, wall=T)
    with pytest.raises(JournalUnreadable, match="not a cockpit session"):
        write_evidence(other, tmp_path / "out")
    with pytest.raises(NotASession):
        report_markdown([])
    assert not (tmp_path / "out").exists()


def test_a_failed_write_leaves_every_file_whole(
    rolled_back: tuple[Path, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = rolled_back
    session_dir = path.with_suffix("")
    old = {name: f"old {name}\n" for name in EVIDENCE_FILES}
    for name, text in old.items():
        (session_dir / name).write_text(text)
    real_replace = os.replace
    calls: list[str] = []

    def failing_replace(src: Any, dst: Any) -> None:
        calls.append(str(dst))
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        write_evidence(path)
    monkeypatch.undo()
    names = sorted(os.listdir(session_dir))
    assert names == sorted(EVIDENCE_FILES), names  # no temporary file left behind
    for n, name in enumerate(EVIDENCE_FILES):
        text = (session_dir / name).read_text()
        # The first two were replaced whole; the third and later keep their old content.
        assert (text == old[name]) == (n >= 2), name
    assert (session_dir / EVIDENCE_FILES[0]).read_text().startswith("# Deployment report")


def test_the_report_says_which_confirmations_were_off(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    with Journal.open(path) as journal:
        rec = Recorder(journal)
        rec.profile["confirm"] = {"readback": False, "production_approval": False}
        rec.to_execution()
    records = read_journal(path)
    report = report_markdown(records, journal_path=str(path))
    off = (
        "OFF for approving a production gate (p); the Monitor's readback of the triggers (t)"
        " (one key instead)"
    )
    assert f"| Type to confirm | {off} |" in report
    assert "typed" not in next(r for r in records if r.kind == "readback.confirmed").body
    write_evidence(path, tmp_path / "evidence")
    approvals = (tmp_path / "evidence" / "approval-record.md").read_text()
    assert f"Type to confirm: **{off}**." in approvals
