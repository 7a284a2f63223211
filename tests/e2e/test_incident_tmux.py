"""The war-room rollback, end to end, in real tmux.

The demo service runs v1 under traffic with a real Prometheus scraping it; v2 is switched in
*outside* the cockpit (as CI would) until Prometheus sees the error rate RED. Then
``cockpit incident`` opens, R is pressed as soon as the first frame is on the screen, and
the crew waits for INCIDENT MITIGATED — ROLLED BACK — VERIFIED against the baseline from
before the incident. The service is then asked what it serves: v1. Once at 120x40 and once
at 80x24, on the same service and Prometheus (the second incident follows the first).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cockpit.engine.kinds import Kind
from cockpit.journal import read_journal, verify_journal
from tests.support.incident import INCIDENT_PROFILE, RealIncident, real_incident
from tests.support.tmux import TmuxPane

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus]

COCKPIT = Path(sys.executable).parent / "cockpit"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def incident(tmp_path_factory: pytest.TempPathFactory, tmux_ready: None) -> Iterator[RealIncident]:
    with real_incident(tmp_path_factory.mktemp("war-room") / "demo") as played:
        played.wait_for_v1_history()
        yield played


def fast_profile(directory: Path) -> Path:
    """The demo's Prometheus profile, quicker: rates over 5 s of samples (10 s in the demo),
    so that v2's errors leave them sooner, and a 5 s stabilization window (30 s)."""
    text = INCIDENT_PROFILE.read_text(encoding="utf-8")
    assert '[health]\nduration = "30s"' in text and "[10s]" in text
    text = text.replace('[health]\nduration = "30s"', '[health]\nduration = "5s"')
    path = directory / "demo-incident.toml"
    path.write_text(text.replace("[10s]", "[5s]"))
    return path


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_r_in_the_first_second_rolls_back_to_the_state_before_the_incident(
    incident: RealIncident, size: tuple[int, int], tmp_path: Path
) -> None:
    incident.switch_to_v2()
    assert incident.serving() == "v2"
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    argv = [str(COCKPIT), "incident", str(fast_profile(tmp_path)), "--sessions-dir", str(sessions)]
    with TmuxPane(*size, name="cockpit-incident") as pane:
        pane.start(argv, env=incident.env(), cwd=REPO)
        pane.wait_for("INCIDENT DECLARED", "ROLL BACK NOW", timeout=30)
        pane.keys("R")  # the first frame is there: nothing stands in front of R
        pane.wait_for("INCIDENT MITIGATED — ROLLED BACK — VERIFIED", timeout=90)
        assert incident.serving() == "v1"  # ask the service itself
        pane.keys("q")
        assert pane.wait_exit(timeout=20) == 0

    (journal,) = sessions.glob("*.jsonl")
    assert verify_journal(journal).ok
    records = read_journal(journal)
    kinds = [r.kind for r in records]
    assert kinds[:2] == [Kind.SESSION_STARTED, Kind.INCIDENT_DECLARED]
    started = next(r for r in records if r.kind == Kind.ROLLBACK_STARTED)
    assert started.body["before"] == ["readback", "command verification"]
    assert started.actor.role == "crew"
    # The baseline is from before the incident: the history's RED stretch began after v2 went
    # out, and the error rate before it was v1's.
    taken = next(r for r in records if r.kind == Kind.BASELINE_TAKEN)
    assert taken.body["source"] == "red-stretch"
    assert incident.switched - 1 <= taken.body["red"]["start"] <= incident.red + 1
    assert taken.body["metrics"]["error-rate"]["how"] == "history"
    assert taken.body["metrics"]["error-rate"]["value"] < 0.5
    verified = next(r for r in records if r.kind == Kind.ROLLBACK_VERIFIED)
    comparison = verified.body["comparison"]
    assert comparison["error-rate"]["against"] == "history"
    assert comparison["p99"]["against"] == "history"
    assert comparison["ready"]["against"] == "threshold"
    assert kinds.index(Kind.ROLLBACK_VERIFIED) < kinds.index(Kind.INCIDENT_MITIGATED)
    report = journal.with_suffix("") / "DEPLOYMENT-REPORT.md"
    assert report.read_text(encoding="utf-8").startswith("# Incident report: demo-web")
