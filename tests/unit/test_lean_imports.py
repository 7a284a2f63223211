"""What the cockpit's own process does not import, for its resident memory (measured in
``benchmarks/ui_log_flood.py``): pydantic's plugin lookup (``importlib.metadata``, with csv
and zipfile). In a fresh interpreter, since this one has imported it long ago."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def run_fresh(script: str, *args: str, timeout: float = 120) -> Any:
    """Run ``script`` in a fresh interpreter (from the repository, without proxy variables,
    so that loopback URLs take the plain path); what it printed last, as JSON."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


PROFILE_MODELS = """
    import json, os, sys
    {prelude}
    from cockpit.attach import protocol
    from cockpit.lock import record
    from cockpit.profile import load_profile, resolve_profile

    os.environ.setdefault("COCKPIT_DEMO_URL", "http://127.0.0.1:9")
    os.environ.setdefault("COCKPIT_DEMO_STATE", "/nonexistent")
    profile = load_profile("profiles/demo.toml")
    resolve_profile(profile, dict(os.environ))
    print(json.dumps({{
        "metadata": "importlib.metadata" in sys.modules,
        "variable": "PYDANTIC_DISABLE_PLUGINS" in os.environ,
    }}))
"""


def test_building_and_validating_a_profile_never_looks_for_pydantic_plugins() -> None:
    found = run_fresh(PROFILE_MODELS.format(prelude=""))
    assert found == {"metadata": False, "variable": False}


def test_pydantic_still_looks_for_plugins_unless_the_cockpit_stands_in() -> None:
    # The guard itself: without the stand-in, this pydantic imports importlib.metadata for
    # the same work. Should this fail, pydantic no longer looks: cockpit.pydantic_plugins can go.
    prelude = (
        "import cockpit, cockpit.pydantic_plugins as p; del sys.modules[p.LOADER]"
        "; sys.modules.pop('importlib.metadata', None)"
    )
    found = run_fresh(PROFILE_MODELS.format(prelude=prelude))
    assert found == {"metadata": True, "variable": False}
