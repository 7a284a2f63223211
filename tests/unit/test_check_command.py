"""``cockpit check`` end to end: real processes, the real demo service, the real profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cockpit.demo.stack import DemoStack
from tests.support.demo import demo_profile_on_any_host, stats, wait_until

ROOT = Path(__file__).resolve().parents[2]
DEMO = str(ROOT / "profiles" / "demo.toml")


def cockpit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cockpit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        check=False,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DemoStack]:
    with DemoStack(tmp_path / "state", rate=40) as demo:
        yield demo


def rows_of(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return {row["id"]: row for row in rows}


def test_demo_v1_passes_and_v2_fails_on_the_error_rate(stack: DemoStack, tmp_path: Path) -> None:
    # Capacity checks any host passes: this test must not depend on the machine being idle.
    demo = str(demo_profile_on_any_host(tmp_path))
    result = cockpit("check", demo, "--json", env=stack.env())
    assert "Traceback" not in result.stderr
    rows = rows_of(result)
    for row in rows.values():
        if row["source"] == "manual":
            assert row["status"] == "INCONCLUSIVE"
            assert row["detail"] == "manual: confirmed by operator in the cockpit"
        else:
            assert row["status"] == "PASS", row
    assert result.returncode == 0, result.stdout
    assert all(r["status"] == "PASS" for r in rows.values() if r["source"] != "manual")
    assert {r["kind"] for r in rows.values()} == {"check", "metric"}
    assert rows["error-rate"]["title"] == "HTTP 5xx rate"

    deploy = cockpit("demo-ctl", "deploy", "v2", "--state", str(stack.state_dir))
    assert deploy.returncode == 0, deploy.stderr
    wait_until(
        # None while the new window has no requests yet (right after the switch).
        lambda: (stats(stack.url)["window"]["error_rate_pct"] or 0) > 2.5,
        timeout=20,
        what="v2's error rate to show in /stats",
    )
    table = cockpit("check", demo, env=stack.env())
    assert table.returncode == 1, table.stdout
    assert "\x1b[" not in table.stdout
    line = next(x for x in table.stdout.splitlines() if "error-rate" in x)
    assert "✘ FAIL" in line
    assert "%" in line and "< 2 %" in line
    assert "manual — confirmed by operator in the cockpit" in table.stdout
    assert "NOT READY" in table.stdout and "error-rate FAIL" in table.stdout


def test_a_bad_profile_exits_2_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("version = 1\n[deployment\nname = 'x'\n")
    result = cockpit("check", str(broken))
    assert result.returncode == 2
    assert str(broken) in result.stderr and "error:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout

    missing = cockpit("check", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_a_missing_variable_exits_2_naming_it() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_DEMO")}
    result = subprocess.run(
        [sys.executable, "-m", "cockpit", "check", DEMO],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "COCKPIT_DEMO_STATE is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_probes_never_import_textual() -> None:
    code = (
        "import sys, cockpit.probes, cockpit.probes.commands; "
        "sys.exit(1 if 'textual' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
