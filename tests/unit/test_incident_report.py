"""The incident report of a fixed incident journal, compared field by field.

The journal is written the way the session writes it: an incident declared at T0, the
history read (the error rate RED from T-07:20, p99 from T-07:10; two metrics without history),
the baseline taken, R pressed at T+00:03 before the Monitor, a readback refused after it,
the rollback command, the verification, the stabilization and the mitigation.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from cockpit.engine import Phase
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.evidence import report_markdown, write_evidence
from cockpit.evidence.model import LIVE_POINTS, LiveSeries
from cockpit.journal import Journal, read_journal
from cockpit.sample import Sample, Status
from cockpit.sparkline import buckets
from tests.unit.test_baseline import incident_data
from tests.unit.test_evidence import GOOD, MONITOR, OPERATOR, UNITS, Recorder, T, section

CREW = OPERATOR.__class__("crew", "ada or grace", "pts/1")
RED = {"error-rate": 8.0, "p99": 480.0}


def history(metric_id: str, quiet: float, bad: float, red_from: float) -> i.RecordHistory:
    """15 minutes every 10 s: quiet, then bad from ``red_from`` seconds before T."""
    points = tuple(
        (T - 900 + 10 * n, bad if T - 900 + 10 * n >= T - red_from else quiet) for n in range(90)
    )
    return i.RecordHistory(SYSTEM, T, metric_id, T - 900, T, 10.0, points)


def samples(rec: Recorder, second: float, values: dict[str, float]) -> None:
    now = rec.at(second)
    for metric_id, good in GOOD.items():
        value = values.get(metric_id, good)
        assert rec.state.profile is not None
        ok = rec.state.profile.metric(metric_id).threshold.passes(value)
        status = Status.PASS if ok else Status.FAIL
        sample = Sample(metric_id, status, value, UNITS[metric_id], now, f"{value:g}")
        rec.do(i.RecordSample(SYSTEM, now, sample))
    rec.do(i.Tick(SYSTEM, now))


def incident_session(path: Path) -> Recorder:
    with Journal.open(path) as journal:
        rec = Recorder(journal)
        rec.do(
            i.StartSession(
                OPERATOR,
                T,
                incident_data(),
                "f" * 64,
                "/srv/profiles/demo-incident.toml",
                "ada",
                "grace",
                os_user="deploy",
                host="bastion-1",
                kind="incident",
            )
        )
        rec.do(history("error-rate", 0.2, 8.0, 440))
        rec.do(history("p99", 120.0, 480.0, 430))
        for metric_id in ("ready", "throughput"):
            rec.do(
                i.RecordHistory(
                    SYSTEM, T, metric_id, T - 900, T, 10.0, (), "no history (http source)"
                )
            )
        rec.do(i.TakeBaseline(SYSTEM, rec.at(1)))
        ok = Sample("rollback-dry-run", Status.PASS, None, "", rec.at(2), "exit 0 in 0.4s")
        rec.do(i.RecordCheck(SYSTEM, rec.now, ok))
        samples(rec, 2, RED)
        rec.do(i.RollBackNow(CREW, rec.at(3), "R pressed: ROLLING BACK NOW"))
        rec.do(i.ProcessStarted(SYSTEM, rec.now, "rollback", "0", 4300, 4300, "/s/rollback-1.out"))
        rec.refused(i.ConfirmReadback(MONITOR, rec.at(4)))  # after R: no longer decides
        rec.do(i.ProcessExited(SYSTEM, rec.at(12), "rollback", "0", 0, duration=9.0))
        second = 13
        while not rec.state.phase.finished:
            samples(rec, second, {})
            second += 1
            assert second < 100
        assert rec.state.phase is Phase.MITIGATED
        rec.flush()
        return rec


@pytest.fixture
def report(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "sessions" / "20270115T080000Z-demo-web-abcd.jsonl"
    path.parent.mkdir()
    path.with_suffix("").mkdir()
    incident_session(path)
    return report_markdown(read_journal(path), journal_path=str(path)), path


def table(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in row.strip("|").split(" | ")] for row in rows[1:]]


def test_title_and_outcome(report: tuple[str, Path]) -> None:
    text, _ = report
    lines = text.splitlines()
    assert lines[0] == "# Incident report: demo-web (demo-web v2)"
    assert lines[2] == "**Outcome: INCIDENT MITIGATED — ROLLED BACK — VERIFIED**"


def test_the_summary_field_by_field(report: tuple[str, Path]) -> None:
    text, _ = report
    head = text.split("\n## ", 1)[0]
    fields = {row[0]: row[1] for row in table(head)}
    assert fields == {
        "Service": "demo-web (owner team-demo), production",
        "Profile": f"`/srv/profiles/demo-incident.toml` sha256 `{'f' * 64}`",
        "Operator": "ada",
        "Monitor": "grace",
        "Host / OS user": "bastion-1 / deploy",
        "First RED sample": "2027-01-15T07:52:40Z (T-07:20): HTTP 5xx rate 8 %",
        "Incident declared (T0)": "2027-01-15T08:00:00Z by ada",
        "Baseline": "from before the first RED stretch (07:52:40 T-07:20): error-rate 0.2 %,"
        " p99 120 ms, ready against its threshold (no history)",
        "R": "T+00:03 by ada or grace",
        "Ended": "2027-01-15T08:00:45Z (T+00:45)",
    }


def test_the_timeline_from_the_first_red_sample_to_mitigation(report: tuple[str, Path]) -> None:
    text, _ = report
    rows = table(section(text, "Timeline"))
    shown = [(row[1], row[2], row[3]) for row in rows]
    assert shown[0] == (
        "T-07:20",
        "Prometheus",
        "**First RED sample**: HTTP 5xx rate 8 % (needs < 2 %)",
    )

    def find(fragment: str) -> tuple[str, str, str]:
        return next(row for row in shown if fragment in row[2])

    assert find("INCIDENT DECLARED") == (
        "T+00:00",
        "ada (operator)",
        "**T0: INCIDENT DECLARED** (the rollback is one key away from here)",
    )
    assert find("Baseline taken")[0] == "T+00:01"
    assert find("**ROLLING BACK NOW**") == (
        "T+00:03",
        "ada or grace (crew)",
        "**ROLLING BACK NOW** (by ada or grace (crew)): R pressed: ROLLING BACK NOW;"
        " before the Monitor's readback and command verification",
    )
    assert find("Refused:") == (
        "T+00:04",
        "grace (monitor)",
        "Refused: read back the rollback triggers: the rollback has started: the readback no"
        " longer decides anything",
    )
    assert find("Rollback command 1 finished") == (
        "T+00:12",
        "cockpit",
        "Rollback command 1 finished: OK (exit 0) in 9.0 s",
    )
    assert find("**ROLLED BACK — VERIFIED**")[0] == "T+00:15"
    assert find("Stabilization window started") == (
        "T+00:15",
        "cockpit",
        "Stabilization window started (30s)",
    )
    assert find("INCIDENT MITIGATED") == (
        "T+00:45",
        "cockpit",
        "**INCIDENT MITIGATED — ROLLED BACK — VERIFIED**: stable to the end of the window",
    )
    times = [row[0] for row in shown]
    assert times == sorted(times, key=lambda t: (t[1] == "+", t[2:] if t[1] == "+" else "~"))


def test_who_did_what(report: tuple[str, Path]) -> None:
    text, _ = report
    assert section(text, "Who did what").strip().splitlines() == [
        "- **ada (operator)**: declared the incident (opened the cockpit) at T+00:00",
        "- **ada or grace (crew)**: pressed R (ROLLING BACK NOW) before the Monitor's readback"
        " and command verification at T+00:03",
    ]


def test_each_metric_history_with_the_baseline_marked(report: tuple[str, Path]) -> None:
    text, _ = report
    blocks = re.findall(r"```text\n(.*?)\n```", section(text, "Metrics before and after"), re.S)
    error_rate = blocks[0].splitlines()
    assert error_rate[0] == (
        "HTTP 5xx rate (error-rate), needs < 2 %; baseline 0.2 % (mean of the 60 s before,"
        " 6 points)"
    )
    line, marks = error_rate[1], error_rate[2]
    history, live = line.split("│")
    assert history.startswith("07:45:00 ")
    bars = history[len("07:45:00 ") :]
    assert len(bars) == 60
    # RED from 460 s into the 900 s window: column 30 (half quiet, half RED), then full.
    assert bars.index("█") == 31
    assert marks[len("07:45:00 ") + 30] == "^"
    assert marks[len("07:45:00 ") :] == " " * 26 + "bbbb^"  # the minute before it
    assert live.split()[0] and live.endswith("08:00:45")
    assert error_rate[3] == "scale 0.2 % to 8 %"
    ready = blocks[2].splitlines()
    assert ready[0] == (
        "Readiness probe latency (ready), needs < 500 ms; verified against the threshold"
        " (no history)"
    )
    assert ready[1] == "no history (http source)"


def test_the_rollback_and_its_verification(report: tuple[str, Path]) -> None:
    text, _ = report
    rollback = section(text, "Rollback")
    assert (
        "- **Verification** against the baseline from before the incident (within 45s):" in rollback
    )
    assert (
        "- **Rule**: back: 3 fresh passes in a row, inside the threshold and within 50 %"
        in rollback
    )
    rows = {row[0]: row[1:] for row in table(rollback.split("### Verification")[1].split("###")[0])}
    assert rows["HTTP 5xx rate (`error-rate`)"] == ["0.2 %", "0.4 %", "± 0.5 %", "✔ back"]
    assert rows["Readiness probe latency (`ready`)"][0] == (
        "verified against the threshold (no history)"
    )


def test_the_journals_final_hash(report: tuple[str, Path]) -> None:
    text, path = report
    last = read_journal(path)[-1]
    assert f"- Last record hash: `{last.hash}`" in section(text, "Journal")


def test_the_incident_report_is_the_deployment_report_file(report: tuple[str, Path]) -> None:
    _, path = report
    written = write_evidence(path)
    assert written[0].name == "DEPLOYMENT-REPORT.md"
    assert written[0].read_text(encoding="utf-8").startswith("# Incident report: demo-web")


def test_the_live_samples_are_folded_as_read_into_the_same_cells() -> None:
    """The report keeps no sample: each metric's are folded into a bounded series whose cells
        are those of every sample (exactly while few; once merged, a merged point falls in one cell
    whole)."""
    points = [
        (T + 0.5 * n, None if n % 17 == 0 else 5 + 4 * math.sin(n / 50))
        for n in range(3 * LIVE_POINTS + 5)
    ]

    def folded(upto: int) -> LiveSeries:
        series = LiveSeries()
        for t, v in points[:upto]:
            series.add(t, v)
        return series

    few = points[:LIVE_POINTS]
    assert folded(LIVE_POINTS).buckets(30) == buckets(few, few[0][0], few[-1][0] + 1e-6, 30)
    many = folded(len(points))
    assert len(many.bins) <= LIVE_POINTS and sum(b[2] for b in many.bins.values()) == sum(
        v is not None for _, v in points
    )
    exact = buckets(points, points[0][0], points[-1][0] + 1e-6, 30)
    for got, want in zip(many.buckets(30), exact, strict=True):  # 1 % of the range: no bar moves
        assert got is not None and want is not None and abs(got - want) < 0.08
