"""What the cockpit's own process does not import, for its resident memory (each measured in
``benchmarks/ui_log_flood.py``): pydantic's plugin lookup (``importlib.metadata``, with csv
and zipfile) and, while every probe takes the plain-HTTP path, httpx. Each in a fresh
interpreter, since this one has imported both long ago."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

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
    prelude = "import cockpit.pydantic_plugins as p; p.skip_lookup = lambda: None"
    found = run_fresh(PROFILE_MODELS.format(prelude=prelude))
    assert found == {"metadata": True, "variable": False}


_PYDANTIC_IMPORT = re.compile(r"^\s*(?:from|import)\s+pydantic\b", re.M)


def modules_using_pydantic() -> list[str]:
    """Every cockpit module that imports pydantic, found on disk."""
    src = REPO / "src"
    return sorted(
        ".".join(path.relative_to(src).with_suffix("").parts)
        for path in (src / "cockpit").rglob("*.py")
        if _PYDANTIC_IMPORT.search(path.read_text(encoding="utf-8"))
    )


@pytest.mark.parametrize("module", modules_using_pydantic())
def test_no_module_that_uses_pydantic_looks_for_its_plugins(module: str) -> None:
    # Imported first and alone: a module that makes models before the stand-in is in place
    # (it does not call pydantic_plugins.skip_lookup()) has pydantic look them up.
    script = f"import json, sys, {module}; print(json.dumps('importlib.metadata' in sys.modules))"
    assert run_fresh(script) is False


def test_the_runner_holds_no_stand_in() -> None:
    script = (
        "import json, sys, cockpit.runner, cockpit.journal; print(json.dumps(sorted(sys.modules)))"
    )
    assert not [m for m in run_fresh(script) if m.split(".")[0] == "pydantic"]


SESSION = """
    import asyncio, json, os, sys, time, tomllib
    from pathlib import Path

    import tomli_w

    from cockpit.demo.stack import DemoStack
    from cockpit.session import Session

    tmp = Path(sys.argv[1])


    async def main() -> dict:
        demo = DemoStack(tmp / "demo", rate=40.0)
        demo.start()
        try:
            os.environ.update(demo.env())
            data = tomllib.loads(Path("profiles/demo.toml").read_text())
            # A Prometheus that refuses: its history and its samples fail on the plain path.
            data["metrics"].append({
                "id": "refused", "title": "Refused", "unit": "%",
                "threshold": {"below": 1}, "interval": "1s", "staleness": "5s",
                "source": {"kind": "prometheus", "url": "http://127.0.0.1:9", "query": "up"},
            })
            path = tmp / "profile.toml"
            path.write_text(tomli_w.dumps(data))
            session = Session.create(path, sessions_dir=tmp / "sessions", environ=dict(os.environ))
            await session.start()
            await session.run_history()
            state = session.state
            measured = [c.id for c in session.profile.checks if c.source is not None]
            deadline = time.monotonic() + 60
            while not (
                all(m.last for m in state.metrics.values())
                and all(state.checks[c].sample for c in measured)
            ):
                assert time.monotonic() < deadline, "no sample of every metric and check"
                await asyncio.sleep(0.05)
            await session.close()
            return {
                "httpx": sorted(m for m in sys.modules if m.split(".")[0] == "httpx"),
                "http": sorted(
                    m.source.kind for m in session.profile.metrics if m.source is not None
                ),
                "refused": state.metrics["refused"].last.detail,
                "history": state.metrics["refused"].past is not None,
            }
        finally:
            demo.stop()


    print(json.dumps(asyncio.run(main())))
"""


def test_a_session_whose_probes_all_take_the_plain_path_never_imports_httpx(
    tmp_path: Path,
) -> None:
    found = run_fresh(SESSION, str(tmp_path))
    assert found["http"] == ["http", "http", "http", "http", "prometheus"]
    assert found["refused"].startswith("Prometheus at http://127.0.0.1:9: cannot connect")
    assert found["history"]
    assert found["httpx"] == []


PRELOAD = """
    import json, os, sys
    from cockpit.profile import load_profile, resolve_profile
    from cockpit.session.loops import preload

    os.environ["COCKPIT_DEMO_URL"] = sys.argv[1]
    os.environ["COCKPIT_DEMO_STATE"] = "/nonexistent"
    preload(resolve_profile(load_profile("profiles/demo.toml"), dict(os.environ)).profile)
    print(json.dumps("httpx" in sys.modules))
"""


def test_the_loops_preload_imports_httpx_only_for_a_source_that_needs_it() -> None:
    # Off the event loop, so that the first https request does not import it there.
    assert run_fresh(PRELOAD, "https://127.0.0.1:9") is True
    assert run_fresh(PRELOAD, "http://127.0.0.1:9") is False
