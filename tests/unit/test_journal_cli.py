"""``cockpit verify``: exit 0 intact, 1 damaged, 2 unreadable; one clear line, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from cockpit.journal import Actor, Journal

ACTOR = Actor(role="deployer", user="alice", tty=None)
# Root reads any file; without these capabilities it obeys the file mode like anyone else.
WITHOUT_DAC_OVERRIDE = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
)


def _verify(path: Path, *, prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "cockpit", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert len((result.stdout + result.stderr).strip().splitlines()) == 1
    assert str(path) in result.stdout + result.stderr
    return result


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    path = tmp_path / "session.jsonl"
    with Journal.open(path) as journal:
        for n in range(42):
            journal.append("test.event", {"n": n}, actor=ACTOR, wall=1_800_000_000.0 + n)
    return path


def test_an_intact_journal_exits_0(journal_path: Path) -> None:
    result = _verify(journal_path)
    assert result.returncode == 0
    assert result.stdout.startswith("ok: 42 records, chain intact (42 anchored): ")


def test_an_intact_journal_without_anchors_says_what_it_cannot_see(journal_path: Path) -> None:
    journal_path.with_name("session.jsonl.anchors").unlink()
    result = _verify(journal_path)
    assert result.returncode == 0
    assert "no anchor file" in result.stdout


def test_a_damaged_journal_exits_1_naming_the_first_bad_record(journal_path: Path) -> None:
    data = journal_path.read_bytes()
    journal_path.write_bytes(data.replace(b'"n":7}', b'"n":8}', 1))
    result = _verify(journal_path)
    assert result.returncode == 1
    assert "first bad record 8" in result.stderr and "not repaired" in result.stderr


def test_a_torn_tail_exits_1_with_the_repair_hint(journal_path: Path) -> None:
    anchors = journal_path.with_name("session.jsonl.anchors")
    anchors.write_bytes(b"".join(anchors.read_bytes().splitlines(keepends=True)[:41]))
    journal_path.write_bytes(journal_path.read_bytes()[:-30])
    result = _verify(journal_path)
    assert result.returncode == 1
    assert "record 42: torn last line" in result.stderr
    assert "session.jsonl.broken" in result.stderr and "cut back to record 41" in result.stderr


@pytest.mark.parametrize("case", ["missing", "directory", "binary garbage", "empty line"])
def test_something_that_is_not_a_journal_exits_2(tmp_path: Path, case: str) -> None:
    path = tmp_path / "thing"
    if case == "directory":
        path.mkdir()
    elif case == "binary garbage":
        path.write_bytes(os.urandom(4096))
    elif case == "empty line":
        path.write_bytes(b"\n\n")
    result = _verify(path)
    assert result.returncode == 2
    assert result.stderr.startswith("unreadable: ")


def test_a_journal_the_user_may_not_read_exits_2(journal_path: Path) -> None:
    journal_path.chmod(0o200)
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv reads any file")
        result = _verify(journal_path, prefix=WITHOUT_DAC_OVERRIDE)
    else:
        result = _verify(journal_path)
    assert result.returncode == 2
    assert "permission denied" in result.stderr
