"""``cockpit report``: exit 0 written, 1 damaged journal, 2 unreadable; never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cockpit.evidence import EVIDENCE_FILES
from tests.unit.test_evidence import flip_byte, rolled_back_session


def report(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cockpit", "report", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_report_command_exit_codes(tmp_path: Path) -> None:
    journal = tmp_path / "20270115T080000Z-demo-web-abcd.jsonl"
    rolled_back_session(journal)

    written = report(journal)  # default: the session directory beside the journal
    assert written.returncode == 0, written.stderr
    session_dir = journal.with_suffix("")
    assert written.stdout.splitlines() == [str(session_dir / name) for name in EVIDENCE_FILES]
    assert "ROLLED BACK — VERIFIED" in (session_dir / "DEPLOYMENT-REPORT.md").read_text()

    out = tmp_path / "elsewhere"
    assert report(journal, "--out", out).returncode == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(EVIDENCE_FILES)

    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(journal.read_bytes())
    flip_byte(damaged, 4)
    result = report(damaged, "--out", tmp_path / "never")
    assert result.returncode == 1
    assert "first bad record 4" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "never").exists()

    not_journal = tmp_path / "notes.txt"
    not_journal.write_text("hello\nworld\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    for bad in (tmp_path / "missing.jsonl", tmp_path, not_journal, empty):
        result = report(bad, "--out", tmp_path / "never")
        assert result.returncode == 2, (bad, result.stderr)
        assert result.stderr.startswith("unreadable: "), result.stderr
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "never").exists()

    blocked = tmp_path / "file-in-the-way"
    blocked.write_text("")
    result = report(journal, "--out", blocked / "sub")
    assert result.returncode == 2
    assert "cannot write the evidence" in result.stderr
    assert "Traceback" not in result.stderr


def test_evidence_and_announcements_do_not_import_textual() -> None:
    code = (
        "import sys\nimport cockpit.evidence, cockpit.evidence.commands, cockpit.announce\n"
        "sys.exit(1 if any(m == 'textual' or m.startswith('textual.') for m in sys.modules)"
        " else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=60).returncode == 0
