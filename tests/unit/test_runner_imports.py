"""The runner needs only the standard library: no Textual, no pydantic."""

from __future__ import annotations

import json
import subprocess
import sys


def test_runner_imports_only_the_standard_library() -> None:
    code = "import json, sys\nimport cockpit.runner\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    modules = set(json.loads(out.stdout))
    for forbidden in ("textual", "pydantic", "rich", "httpx", "psutil"):
        assert forbidden not in modules
        assert not any(m.startswith(forbidden + ".") for m in modules)
