"""Nothing outside cockpit.ui imports Textual: the core runs and is tested without a terminal."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import cockpit

SRC = Path(cockpit.__file__).resolve().parent

# The core, named explicitly: a module that disappears or fails to import fails this test.
CORE = [
    "cockpit.engine",
    "cockpit.profile",
    "cockpit.journal",
    "cockpit.probes",
    "cockpit.runner",
    "cockpit.demo",
    "cockpit.cli",
    "cockpit.sample",
]

# Modules that may import Textual, and modules that must not be imported at all
# (``cockpit.__main__`` runs the CLI).
UI = "cockpit.ui"
NOT_IMPORTED = {"cockpit.__main__"}

_TEXTUAL_IMPORT = re.compile(r"^\s*(?:from\s+textual\b|import\s+(?:[\w.]+\s*,\s*)*textual\b)", re.M)


def core_modules() -> list[str]:
    """Every module of the package outside cockpit.ui, found on disk."""
    found = []
    for info in pkgutil.walk_packages([str(SRC)], prefix="cockpit."):
        name = info.name
        if name == UI or name.startswith(UI + ".") or name in NOT_IMPORTED:
            continue
        found.append(name)
    return sorted(found)


def textual_modules_after_importing(names: list[str]) -> list[str]:
    """Import ``names`` in a fresh interpreter; return the Textual modules it then holds."""
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "    if m == 'textual' or m.startswith('textual.'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_the_core_imports_without_textual() -> None:
    assert textual_modules_after_importing(CORE) == []


def test_every_module_outside_ui_imports_without_textual() -> None:
    names = core_modules()
    assert set(CORE) <= set(names)
    assert textual_modules_after_importing(names) == []


def test_the_check_sees_textual_when_it_is_imported() -> None:
    # Proves the subprocess check can fail: the UI package does load Textual.
    assert "textual" in textual_modules_after_importing(["cockpit.ui.app"])


def test_no_source_file_outside_ui_imports_textual() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if (SRC / "ui") in path.parents:
            continue
        for match in _TEXTUAL_IMPORT.finditer(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(SRC.parent)}: {match.group(0).strip()}")
    assert offenders == []


def test_the_static_scan_recognises_textual_imports() -> None:
    samples = [
        "import textual",
        "from textual.app import App",
        "    from textual import on",
        "import os, textual.widgets",
    ]
    assert all(_TEXTUAL_IMPORT.search(s) for s in samples)
    assert not _TEXTUAL_IMPORT.search("import textualize_helpers\n# textual is only in ui/")
