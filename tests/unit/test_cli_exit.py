"""The ``cockpit`` command ends its process itself once done: nothing it printed is lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cockpit.cli import main

DEMO = Path(__file__).resolve().parents[2] / "profiles" / "demo.toml"


def test_output_through_a_pipe_is_complete_and_the_status_kept() -> None:
    # The schema is far larger than a pipe's buffer: all of it must arrive, as valid JSON.
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "schema"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"]
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "verify", "/no/such/journal.jsonl"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "no such file" in done.stderr


def test_main_with_arguments_returns() -> None:
    # Called with its arguments (tests, embedding) main returns the status, never exits.
    assert main(["validate", str(DEMO)]) == 0
