"""Outside text through every path that shows it outside the screen: the output reader, the
evidence files and each CLI command. Hostile strings go in through profile strings, probe
details, reasons, step output and file names; what comes out holds no character a terminal
would obey, and shows the inert form (the journal keeps the raw text)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from cockpit.cli import main
from cockpit.engine import State, apply, decide
from cockpit.engine import intents as i
from cockpit.engine.events import SYSTEM
from cockpit.evidence import EVIDENCE_FILES, write_evidence
from cockpit.inert import inert, is_inert, json_text
from cockpit.journal import Actor, Journal
from cockpit.profile import load_profile
from cockpit.runner import OutputTail
from cockpit.sample import Sample, Status

ROOT = Path(__file__).resolve().parents[2]
QUICK = ROOT / "tests" / "data" / "session" / "quick.toml"
T = 1_800_000_000.0
OPERATOR = Actor("operator", "ada", "pts/1")
MONITOR = Actor("monitor", "grace", "pts/2")

HOSTILE = [
    pytest.param("\x1b[2J\x1b[H", id="clear-screen"),
    pytest.param("\x1b]2;pwned\x07", id="osc2-title"),
    pytest.param("\x1b]52;c;cm0gLXJmIH4=\x07", id="osc52-clipboard"),
    pytest.param("\x1b[6n", id="dsr"),
    pytest.param("\x9b2J", id="c1-csi"),
    pytest.param("evil\u202etxt.exe", id="bidi"),
    pytest.param("zero\u200bwidth", id="zero-width"),
]


def hostile_profile(hostile: str) -> dict[str, Any]:
    """The quick session profile with ``hostile`` in its strings and a check printing it."""
    doc = load_profile(QUICK).model_dump(mode="json", exclude_none=True)
    doc["deployment"]["name"] = f"quick {hostile}"
    doc["briefing"]["aim"] = f"aim {hostile}"
    doc["briefing"]["contingency"]["triggers"] = [f"trigger {hostile}"]
    doc["metrics"][0]["title"] = f"rate {hostile}"
    doc["metrics"][0]["unit"] = f"% {hostile}"
    doc["stages"][0]["steps"][0]["title"] = f"deploy {hostile}"
    printer = "import sys; print('said', sys.argv[1]); sys.exit(1)"
    doc["checks"].append(
        {
            "id": "printer",
            "title": f"printer {hostile}",
            "source": {"kind": "command", "command": [sys.executable, "-c", printer, hostile]},
        }
    )
    return doc


def write_profile(directory: Path, hostile: str) -> Path:
    path = directory / "hostile.toml"
    path.write_text(tomli_w.dumps(hostile_profile(hostile)))
    return path


def record_session(path: Path, hostile: str) -> Path:
    """A session journal with ``hostile`` in the profile, a check detail, a sample detail, a
    hold reason, a step's argv and error, the rollback reason and the snapshot's output."""
    state = State()
    with Journal.open(path) as journal:

        def do(intent: i.Intent) -> None:
            events = decide(state, intent)
            for event in events:
                t_plus = 0.0 if event.kind == "execution.started" else state.t_plus(event.wall)
                journal.append(
                    event.kind, event.body, actor=event.actor, wall=event.wall, t_plus=t_plus
                )
            for event in events:
                apply(state, event)

        profile = hostile_profile(hostile)
        do(i.StartSession(OPERATOR, T, profile, "f" * 64, f"/p/{hostile}.toml", "ada", "grace"))
        do(i.ConfirmReadback(MONITOR, T + 1, typed="5m"))
        do(i.ConfirmManualCheck(OPERATOR, T + 2, "runbook"))
        check = Sample("printer", Status.PASS, None, "", T + 3, f"ok {hostile}")
        do(i.RecordCheck(SYSTEM, T + 3, check))
        sample = Sample("error-rate", Status.PASS, 0.1, "%", T + 4, f"0.1 % {hostile}")
        do(i.RecordSample(SYSTEM, T + 4, sample))
        do(i.Go(OPERATOR, T + 5))
        do(i.Go(MONITOR, T + 6))
        do(i.Hold(OPERATOR, T + 7, f"hold {hostile}"))
        do(i.Resume(OPERATOR, T + 8))
        do(i.VerifyStep(MONITOR, T + 9, "deploy"))
        do(i.RunStep(OPERATOR, T + 10, "deploy"))
        argv = ("echo", hostile)
        do(i.ProcessStarted(SYSTEM, T + 10, "step", "deploy", 42, 42, "/s/step-1.out", argv=argv))
        do(i.ProcessExited(SYSTEM, T + 12, "step", "deploy", 1, error=f"failed {hostile}"))
        do(i.RollBackNow(MONITOR, T + 13, f"R {hostile}"))
        do(i.ProcessStarted(SYSTEM, T + 13, "rollback", "0", 43, 43, "/s/rollback-1.out"))
        metrics = {"error-rate": sample.to_json()}
        do(i.RecordSnapshot(SYSTEM, T + 14, metrics, [f"line {hostile}"]))
        do(i.ProcessExited(SYSTEM, T + 15, "rollback", "0", 0))
    return path


def session_in(directory: Path, hostile: str) -> Path:
    sessions = directory / "sessions"
    sessions.mkdir(exist_ok=True)
    path = sessions / "20270115T080000Z-quick-0000.jsonl"
    path.with_suffix("").mkdir()
    return record_session(path, hostile)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(list(argv))
    out, err = capsys.readouterr()
    return out + err


Path_ = Callable[[Path, str, pytest.CaptureFixture[str]], str]


def output_reader(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp / "step.out"
    path.write_text(f"before {hostile} after\nsecond {hostile}")
    tail = OutputTail(path)
    return "\n".join(tail.read_lines() + tail.flush_partial())


def evidence(name: str) -> Path_:
    def written(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
        journal = session_in(tmp, hostile)
        paths = {p.name: p for p in write_evidence(journal)}
        return paths[name].read_text()

    return written


def cli_validate(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    profile = write_profile(tmp, hostile)
    missing = tmp / f"missing {hostile}.toml"
    return cli(capsys, "validate", str(profile), str(missing))


def cli_check(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    return cli(capsys, "check", str(write_profile(tmp, hostile)))


def cli_check_json(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    out = cli(capsys, "check", "--json", str(write_profile(tmp, hostile)))
    json.loads(out)
    return out


def cli_sessions(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    session_in(tmp, hostile)
    (tmp / "sessions" / f"20270115T090000Z-{hostile}-0001.jsonl").write_text("not a journal\n")
    return cli(capsys, "sessions", "--sessions-dir", str(tmp / "sessions"))


def cli_sessions_json(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    session_in(tmp, hostile)
    out = cli(capsys, "sessions", "--json", "--sessions-dir", str(tmp / "sessions"))
    json.loads(out)
    return out


def cli_report(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    journal = session_in(tmp, hostile)
    out = tmp / f"evidence {hostile}"
    missing = tmp / f"gone {hostile}.jsonl"
    return cli(capsys, "report", str(journal), "--out", str(out)) + cli(
        capsys, "report", str(missing)
    )


def cli_verify(tmp: Path, hostile: str, capsys: pytest.CaptureFixture[str]) -> str:
    journal = session_in(tmp, hostile)
    renamed = journal.rename(journal.with_name(f"{hostile}.jsonl"))
    missing = tmp / f"gone {hostile}.jsonl"
    return cli(capsys, "verify", str(renamed)) + cli(capsys, "verify", str(missing))


PATHS: list[Any] = [
    pytest.param(output_reader, id="output-reader"),
    *(pytest.param(evidence(name), id=f"evidence-{name}") for name in EVIDENCE_FILES),
    pytest.param(cli_validate, id="cli-validate"),
    pytest.param(cli_check, id="cli-check"),
    pytest.param(cli_check_json, id="cli-check-json"),
    pytest.param(cli_sessions, id="cli-sessions"),
    pytest.param(cli_sessions_json, id="cli-sessions-json"),
    pytest.param(cli_report, id="cli-report"),
    pytest.param(cli_verify, id="cli-verify"),
]


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("path", PATHS)
def test_outside_text_comes_out_inert(
    path: Path_, hostile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = path(tmp_path, hostile, capsys)
    assert is_inert(shown, multiline=True), [c for c in shown if not is_inert(c, multiline=True)]
    # Text shows the inert form; JSON its own escape (the data is unchanged).
    assert inert(hostile) in shown or json_text(hostile)[1:-1] in shown, shown


def test_the_journal_keeps_what_was_read(tmp_path: Path) -> None:
    hostile = "\x1b]2;pwned\x07 \u202e"
    journal = session_in(tmp_path, hostile)
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    assert records[0]["body"]["profile"]["deployment"]["name"] == f"quick {hostile}"
    assert any(r["body"].get("reason") == f"hold {hostile}" for r in records)
