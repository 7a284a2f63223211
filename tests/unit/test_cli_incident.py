"""``cockpit incident``: a baseline time it cannot use is one line on stderr and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[2] / "profiles" / "demo.toml"


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("yesterday", "cannot read 'yesterday': write an ISO-8601 time"),
        ("-25", "cannot read '-25': write a duration before now with a unit"),
        ("2999-01-01T00:00:00Z", "is not before now; the baseline comes from the past"),
        ("-0s", "is not before now"),
    ],
)
def test_a_bad_baseline_time_is_one_line_and_exit_2(given: str, said: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "incident", str(DEMO), f"--baseline-at={given}"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: --baseline-at: ")
    assert said in lines[0]
    assert "Traceback" not in done.stderr
