"""``cockpit demo --incident [--prometheus]``: v2 goes out outside the cockpit and goes RED;
the demo's own Prometheus starts, scrapes and stops; bad options are one line and exit 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cockpit.demo import incident
from cockpit.demo.prometheus import DemoPrometheus
from cockpit.demo.stack import DemoStack
from tests.support.prometheus import ensure_prometheus


def test_v2_goes_out_outside_the_cockpit_and_goes_red(tmp_path: Path) -> None:
    with DemoStack(tmp_path / "demo", rate=50.0, warmup=0.3) as stack:
        out = io.StringIO()
        rate = incident.play(stack, warmup=0.0, out=out)
        assert rate >= incident.RED_AT
        said = out.getvalue()
        assert "switching demo-web to v2 outside the cockpit" in said
        assert f"v2 is out and the error rate is RED ({rate:.1f} %)" in said
        assert (stack.state_dir / "current").read_text().strip() == "v2"
        assert (stack.state_dir / "previous").read_text().strip() == "v1"  # R has a way back


@pytest.mark.prometheus
def test_the_demos_prometheus_scrapes_the_service_and_leaves_nothing(tmp_path: Path) -> None:
    with DemoStack(tmp_path / "demo", rate=20.0, warmup=0.3) as stack:
        prometheus = DemoPrometheus(ensure_prometheus(), f"127.0.0.1:{stack.port}", tmp_path / "p")
        prometheus.start()
        try:
            pid = prometheus.proc.pid if prometheus.proc else 0
            deadline = time.monotonic() + 30
            while prometheus.value('up{job="demo"}') != 1.0:
                assert time.monotonic() < deadline, "no scrape of the demo service in 30 s"
                time.sleep(0.2)
        finally:
            prometheus.stop()
        assert not (tmp_path / "p" / "data").exists()
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.parametrize(
    ("extra", "env", "said"),
    [
        (["--warmup", "-1"], {}, "error: --warmup -1.0: give seconds between 0 and 3600"),
        (["--prometheus"], {"PATH": "/nonexistent"}, "error: --prometheus: no prometheus binary"),
    ],
)
def test_a_demo_option_it_cannot_use_is_one_line_and_exit_2(
    extra: list[str], env: dict[str, str], said: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cockpit", "demo", "--incident", *extra],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(said)
