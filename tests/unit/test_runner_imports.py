"""The runner needs only the standard library: no Textual, no pydantic; and the commands that
never open the screen never import Textual."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def test_runner_imports_only_the_standard_library() -> None:
    code = "import json, sys\nimport cockpit.runner\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    modules = set(json.loads(out.stdout))
    for forbidden in ("textual", "pydantic", "rich", "httpx", "psutil"):
        assert forbidden not in modules
        assert not any(m.startswith(forbidden + ".") for m in modules)


# The commands that never open the screen start without Textual (nor rich's terminal
# machinery through it): their start time is measured by benchmarks/cli_start.py.
_RECORD_MODULES = """\
import json, sys
{prelude}
from cockpit.cli import main
status = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump({{"status": status, "modules": sorted(sys.modules)}}, f)
"""


def modules_after(argv: list[str], tmp_path: Path, *, prelude: str = "") -> tuple[int, set[str]]:
    """The exit status of ``cockpit ARGV`` (run in a fresh interpreter) and every module it
    had imported by its end."""
    out = tmp_path / "modules.json"
    script = _RECORD_MODULES.format(prelude=prelude)
    subprocess.run(
        [sys.executable, "-c", script, str(out), *argv],
        capture_output=True,
        check=True,
        timeout=120,
        cwd=REPO,
    )
    found = json.loads(out.read_text())
    return found["status"], set(found["modules"])


def _textual(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m == "textual" or m.startswith("textual."))


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["validate", "check", "verify", "report", "sessions"])
def test_the_commands_without_a_screen_never_import_textual(tmp_path: Path, command: str) -> None:
    from tests.unit.test_evidence import rolled_back_session

    sessions = tmp_path / "sessions"
    sessions.mkdir(mode=0o700)
    journal = sessions / "20270115T080000Z-demo-web-abcd.jsonl"
    rolled_back_session(journal)
    argv = {
        "validate": ["validate", "profiles/demo.toml"],
        "check": ["check", "tests/data/session/quick.toml"],
        "verify": ["verify", str(journal)],
        "report": ["report", str(journal), "--out", str(tmp_path / "out")],
        "sessions": ["sessions", "--sessions-dir", str(sessions)],
    }[command]
    status, modules = modules_after(argv, tmp_path)
    assert status in (0, 1), argv  # ran (check says NOT READY with 1)
    assert "cockpit.cli" in modules
    assert _textual(modules) == []


def test_the_textual_check_can_fail(tmp_path: Path) -> None:
    _status, modules = modules_after(
        ["validate", "profiles/demo.toml"], tmp_path, prelude="import cockpit.ui.app"
    )
    assert "textual.app" in _textual(modules)
